// hone's dashboard and report: one page, plots drawn as inline SVG. Live, it follows the
// runs through /api/stream (server-sent events); in a report, the runs are embedded in the page.
"use strict";

const EMBEDDED = document.getElementById("hone-data");
const STATIC = EMBEDDED !== null;
const SVG = "http://www.w3.org/2000/svg";
const STATUS_COLORS = { ok: "#2b7a4b", pending: "#8a8f98" };
const HOLDOUT_COLOR = "#c2410c";  // a held-out score (hone.trust), beside the search's
const FAIL_COLORS = ["#c2410c", "#b91c1c", "#a16207", "#7c3aed", "#be185d", "#0e7490", "#4d7c0f"];
const RUN_COLORS = ["#1f5fbf", "#c2410c", "#2b7a4b", "#7c3aed", "#a16207", "#0e7490", "#be185d"];

const state = { runs: [], run: 0, view: "overview", xaxis: "calls", detail: null, connected: false, bestOpen: false, page: 0, pageKey: "", pageAt: 0, pageData: null };

// ---- numbers, as Python's hone prints them -------------------------------------------------
function g6(x) {  // Python's format(x, ".6g")
  if (x === null || x === undefined) return "-";
  if (!isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  if (x === 0) return "0";
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 6) {
    let [m, e] = x.toExponential(5).split("e");
    m = m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m;
    const n = parseInt(e, 10);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  const s = x.toFixed(Math.max(0, 5 - exp));
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}
function money(usd) {  // hone.web.data.money
  return usd < 1 ? `$${usd.toFixed(4)}` : "$" + usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function seconds(s) { return s < 60 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`; }
function esc(text) {  // as HTML text; control characters (an evaluator's colour codes) shown as \x1b, as `hone show` does
  return String(text ?? "").replace(/\r\n/g, "\n").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c])
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}
// The server's and the report's JSON is strict (hone.web.data.to_json): a number that is not finite comes as {"__float__": "inf"}.
const NONFINITE = { inf: Infinity, "-inf": -Infinity, nan: NaN };
function fromJson(text) {  // (the reviver only where a number needs it: on a long run's picture it costs more than the parse)
  if (!text.includes('"__float__"')) return JSON.parse(text);
  return JSON.parse(text, (k, v) => (v !== null && typeof v === "object" && Object.keys(v).length === 1 && Object.hasOwn(NONFINITE, v.__float__) ? NONFINITE[v.__float__] : v));
}
function better(run, a, b) { return b === null || b === undefined || (run.meta.objective === "minimize" ? a < b : a > b); }

// ---- the runs' data -------------------------------------------------------------------------
function newRun(index, label, path) {
  return { index, label, path, meta: {}, hyps: new Map(), calls: new Map(), notes: new Map(), findings: new Map(), details: {}, loaded: false };
}
function merge(run, delta) {
  run.meta = delta.meta || run.meta;
  run.state = delta.state || run.state;  // {running, text}: hone.web.data's reading of the run's status and lock
  for (const h of unpacked(delta.hypotheses)) run.hyps.set(h.id, h);
  for (const c of unpacked(delta.calls)) run.calls.set(c.id, c);
  for (const n of delta.notes || []) run.notes.set(n.id, n);
  if (delta.sampled) run.sampled = true;  // a long run: the page holds what it draws, its counts come from SQL
  if (delta.totals) run.totals = delta.totals;
  for (const f of delta.findings || []) run.findings.set(f.id, f);
  for (const f of run.findings.values()) {  // a check comes after its hypothesis was sent
    const h = run.hyps.get(f.candidate_id);
    if (!h) continue;
    if (f.score !== null) h.holdout = f.score;
    h.verified = !f.passed ? false : h.verified === false ? false : true;
  }
  if (delta.gone) run.gone = delta.gone;  // its store was deleted, replaced or damaged
  run.loaded = true;
}
function unpacked(rows) {  // the stream's rows, sent as their keys and values (hone.web.data.packed), as objects; a report's are objects already
  if (!rows || Array.isArray(rows)) return rows || [];
  return rows.rows.map((values) => { const row = {}; rows.keys.forEach((key, i) => { row[key] = values[i]; }); return row; });
}
function hypotheses(run) { return [...run.hyps.values()].sort((a, b) => a.id - b.id); }
function calls(run) { return [...run.calls.values()].sort((a, b) => a.id - b.id); }
function statusColor(status, statuses) {
  if (STATUS_COLORS[status]) return STATUS_COLORS[status];
  const failed = statuses.filter((s) => !STATUS_COLORS[s]).sort();
  return FAIL_COLORS[Math.max(0, failed.indexOf(status)) % FAIL_COLORS.length];
}
function allStatuses(run) { return [...new Set(hypotheses(run).map((h) => h.status))].sort(); }
function summary(run) {
  const hs = hypotheses(run);
  let best = null;
  // the run's answer (hone.trust.answer): the best no check of a new best failed; with
  // [evaluation] select = "holdout", the best held-out score of those validated, if any
  let held = null, scored = false;
  for (const h of hs) {
    scored = scored || h.score !== null;
    if (h.score === null || h.verified === false) continue;
    if (better(run, h.score, best && best.score)) best = h;
    if (h.holdout !== null && h.holdout !== undefined && better(run, h.holdout, held && held.holdout)) held = h;
  }
  if (run.meta.select === "holdout" && held) best = held;
  const cs = calls(run);
  const cost = cs.reduce((t, c) => t + (c.cost || 0), 0);
  const tokens = cs.reduce((t, c) => t + c.prompt_tokens + c.completion_tokens, 0);
  const t = run.sampled && run.totals;
  const none = scored ? "no answer: every scored program failed a check of new bests" : "nothing scored yet";
  if (t) return { hs, best, none, cost: t.cost, tokens: t.tokens, failed: t.failed, pending: t.pending, calls: t.calls, count: t.hypotheses };
  const failed = hs.filter((h) => h.status !== "ok" && h.status !== "pending").length;
  const pending = hs.filter((h) => h.status === "pending").length;
  return { hs, best, none, cost, tokens, failed, pending, calls: cs.length, count: hs.length };
}
function xOf(run, h) {  // model calls so far when it was proposed, or seconds since the run began
  if (state.xaxis === "time") return Math.max(0, h.created - (run.meta.created || h.created));
  return h.call ?? 0;
}
function bestPath(run, hs, x) {  // [x, best so far] at each new best, in the order of x
  const pts = [];
  let best = null;
  for (const h of [...hs].filter((h) => h.score !== null).sort((a, b) => x(a) - x(b) || a.id - b.id)) {
    if (better(run, h.score, best)) { best = h.score; pts.push([x(h), best, h.id]); }
  }
  return pts;
}

// ---- SVG ------------------------------------------------------------------------------------
function el(tag, attrs = {}, parent = null, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
function niceTicks(lo, hi, count = 6, whole = false) {  // whole: counts, ticked at whole numbers only
  if (!(hi > lo)) { const d = Math.abs(lo) || 1; lo -= d / 2; hi += d / 2; }
  const raw = whole ? Math.max(1, (hi - lo) / count) : (hi - lo) / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return { lo: Math.min(lo, ticks[0]), hi: Math.max(hi, ticks[ticks.length - 1]), ticks, step };
}
function tickText(t, step) {  // every tick with the digits its step needs (2.20, 2.21, 2.22), so neighbours differ
  const digits = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  return Math.abs(t) < 1e6 && digits <= 8 ? t.toFixed(digits) : g6(t);
}
function frame(container, opts) {  // axes with ticks; returns the svg and the scales
  const W = opts.width || 900, H = opts.height || 320, m = { l: 64, r: 16, t: 12, b: opts.rug ? 58 : 40 };
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label || "" });
  container.replaceChildren(svg);
  const xs = niceTicks(opts.x[0], opts.x[1], 6, opts.xwhole), ys = niceTicks(opts.y[0], opts.y[1], 5);
  const sx = (v) => m.l + ((v - xs.lo) / (xs.hi - xs.lo)) * (W - m.l - m.r);
  const sy = (v) => H - m.b - ((v - ys.lo) / (ys.hi - ys.lo)) * (H - m.t - m.b);
  const axis = el("g", { class: "axis" }, svg);
  for (const t of ys.ticks) {
    el("line", { class: "grid-line", x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t) }, axis);
    el("text", { class: "y-tick", x: m.l - 6, y: sy(t) + 4, "text-anchor": "end" }, axis, opts.yfmt ? opts.yfmt(t, ys.step) : tickText(t, ys.step));
  }
  for (const t of xs.ticks) el("text", { class: "x-tick", x: sx(t), y: H - m.b + 16, "text-anchor": "middle" }, axis, opts.xfmt ? opts.xfmt(t) : tickText(t, xs.step));
  el("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, axis);
  el("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }, axis);
  el("text", { x: (m.l + W - m.r) / 2, y: H - 4, "text-anchor": "middle" }, axis, opts.xlabel || "");
  el("text", { x: 12, y: (m.t + H - m.b) / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})` }, axis, opts.ylabel || "");
  return { svg, sx, sy, W, H, m, ylo: ys.lo, yhi: ys.hi };
}
function extent(values, fallback = [0, 1]) {
  const v = values.filter((x) => x !== null && isFinite(x));
  return v.length ? [Math.min(...v), Math.max(...v)] : fallback;
}
function stepPath(f, pts, xEnd) {
  if (!pts.length) return "";
  let d = `M${f.sx(pts[0][0])},${f.sy(pts[0][1])}`;
  for (let i = 1; i < pts.length; i++) d += `H${f.sx(pts[i][0])}V${f.sy(pts[i][1])}`;
  return d + `H${f.sx(Math.max(xEnd, pts[pts.length - 1][0]))}`;
}

// ---- views ----------------------------------------------------------------------------------
function modelNames(run) {  // the models that answered, else the one the run was started with
  const names = [...new Set(calls(run).map((c) => c.model))];
  return names.length ? names.join(", ") : (run.meta.model || {}).spec || "-";
}
function startOf(run, hs) {  // the best of the starting programs (those with no parent) that scored
  let found = null;
  for (const h of hs) if (!h.parents.length && h.score !== null && better(run, h.score, found && found.score)) found = h;
  return found;
}
function gain(run, s) {  // [value, below it]: the change from the start's score to the best, absolute and relative
  const start = startOf(run, s.hs);
  if (!s.best) return ["-", s.none];
  if (!start) return ["-", `the start scored nothing · best ${g6(s.best.score)} · ${direction(run)}`];
  const d = s.best.score - start.score, signed = (v, text) => (v > 0 ? "+" : "") + text;
  const relative = start.score !== 0 && isFinite(d) ? ` (${signed(d, String(Number(((100 * d) / Math.abs(start.score)).toPrecision(3))))} %)` : "";
  return [d === 0 ? "none yet" : signed(d, difference(start.score, s.best.score)) + relative, `${g6(start.score)} → ${g6(s.best.score)} · ${direction(run)}`, credit(run, s.hs, start)];
}
function credit(run, hs, start) {  // who made the gain (hone.credit): each new best's gain to its kind, a tuning trial's or the model's (one that failed a check is no new best)
  let best = start.score, model = 0, tuning = 0;
  for (const h of [...hs].sort((a, b) => a.id - b.id)) {
    if (!h.parents.length || h.score === null || h.verified === false || !better(run, h.score, best)) continue;
    const step = Math.abs(h.score - best);
    if (h.kind === "tune") tuning += step; else model += step;
    best = h.score;
  }
  const part = (v) => (v ? difference(start.score, start.score + v) : "0");  // (as many decimals as the scores)
  return `model ${part(model)}, tuning ${part(tuning)}`;
}
function difference(a, b) {  // b - a with no more decimals than a and b are shown with (not 0.0407408 for 2.24837 - 2.20763)
  const places = (x) => { const t = g6(x); return t.includes("e") ? null : (t.split(".")[1] || "").length; };
  const pa = places(a), pb = places(b);
  return pa === null || pb === null ? g6(b - a) : g6(+(b - a).toFixed(Math.max(pa, pb)));
}
function statusOf(run) {  // how the run stands (hone.web.data.status_text), and whether a process drives it now
  const st = run.state || { running: false, text: run.meta.status || "-" };
  return STATIC && st.running ? { ...st, text: `${st.text} (as the report was written)` } : st;
}
function heldOut(h) { return h.holdout !== null && h.holdout !== undefined ? ` · held-out ${g6(h.holdout)}` : ""; }
function renderStats(run, s) {
  const meta = run.meta, model = modelNames(run), [gained, from, madeBy] = gain(run, s);
  const cards = [
    ["best score", s.best ? g6(s.best.score) : "-", s.best ? `#${s.best.id}, round ${s.best.round}${heldOut(s.best)} · open it` : s.none, s.best],
    ["gain from the start", gained, from, null, madeBy],
    ["hypotheses", s.count.toLocaleString("en-US"), `${(s.count - s.failed - s.pending).toLocaleString("en-US")} ok · ${s.failed.toLocaleString("en-US")} failed · ${s.pending} pending${run.sampled ? ` · ${s.hs.length.toLocaleString("en-US")} drawn` : ""}`],
    ["model calls", String(s.calls), `${s.tokens.toLocaleString("en-US")} tokens`],
    ["cost", money(s.cost), (meta.budget || {}).max_cost != null ? `budget ${money(meta.budget.max_cost)}` : costNote(run)],
    ["status", statusOf(run).text, `${meta.task_name || ""} · ${model}`],
  ];
  document.getElementById("stats").innerHTML = cards.map(([label, value, sub, opens, credited]) =>
    `<div class="stat${opens ? " opens" : ""}" data-stat="${label}"${opens ? ` data-open="${opens.id}" role="button" tabindex="0" title="open hypothesis #${opens.id}"` : ""}><div class="label">${label}</div><div class="value${label === "status" ? " small" : ""}">${esc(value)}</div><div class="label">${esc(sub)}</div>${credited ? `<div class="label credit" title="each improvement of the best, credited to the kind of hypothesis that made it">${esc(credited)}</div>` : ""}</div>`).join("");
}
function renderBest(run, s) {  // the best program's first lines, all of them on request, and a way to open it
  const panel = document.getElementById("best-panel"), h = s.best;
  panel.hidden = !h;
  if (!h) return;
  const known = run.details[h.id] || (run.bestCode && run.bestCode.id === h.id ? run.bestCode : null);
  if (!known && !STATIC && run.fetching !== h.id) {
    run.fetching = h.id;
    fetch(`/api/runs/${run.index}/hypotheses/${h.id}`).then((r) => (r.ok ? r.text() : null)).then((text) => {
      if (text !== null) { const found = fromJson(text); run.bestCode = { id: found.id, code: found.code }; }
      if (run.fetching === h.id) run.fetching = null;
      if (state.runs[state.run] === run && state.view === "overview") renderBest(run, summary(run));
    }).catch(() => { run.fetching = null; });  // (the server went away: the next change asks again)
  }
  const code = known ? known.code || "" : "", lines = code.replace(/\n$/, "").split("\n").length;
  const head = document.getElementById("best-title");
  head.textContent = `Best program: #${h.id} · score ${g6(h.score)} · round ${h.round}`;
  const pre = document.getElementById("best-code"), more = document.getElementById("best-more");
  pre.textContent = known ? code : "loading…";
  const long = lines > BEST_LINES;
  pre.classList.toggle("clipped", long && !state.bestOpen);
  more.hidden = !long;
  more.textContent = state.bestOpen ? "show fewer lines" : `show all ${lines} lines`;
  document.getElementById("best-open").dataset.open = h.id;
}
const BEST_LINES = 14;  // lines of the best program shown before "show all"
function costNote(run) {
  const prices = Object.values(run.meta.prices || {});
  if (prices.length && prices.every((p) => p && p.source === "local")) return "local model: free";
  return prices.some((p) => p === null) ? "a model has no known price" : "";
}
// The score axis, one rule (scoreAxis):
// - robust: with ROBUST_FROM scores or more, those beyond Tukey's far fences (Q1 - 3 IQR, Q3 + 3 IQR,
//   widened by the minimum span below) are outliers; the axis spans the others and the best (never cut
//   off), and an outlier is drawn on the plot's edge as a triangle, its value in its tooltip. A run at
//   2.20-2.25 with failures scored 1.3 is drawn on about 2.2-2.25, not 1.3-2.25;
// - never zoomed into noise: the span is at least MIN_SPAN (1 %) of the values' magnitude (the largest
//   |score| on it), so +0.02 % is a fiftieth of the axis, not its height;
// - then PAD (5 %) of the span on each side, and ticks with the digits their step needs (tickText).
const ROBUST_FROM = 8, FENCE = 3, MIN_SPAN = 0.01, PAD = 0.05;
function quantile(sorted, q) {  // linear between the closest ranks (numpy's default)
  const i = (sorted.length - 1) * q, k = Math.floor(i);
  return sorted[k] + ((sorted[Math.min(k + 1, sorted.length - 1)] - sorted[k]) * (i - k));
}
function scoreAxis(scores, best) {  // [lo, hi] of the score axis
  const v = scores.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return [0, 1];
  let inside = v;
  if (v.length >= ROBUST_FROM) {
    const q1 = quantile(v, 0.25), q3 = quantile(v, 0.75);
    const slack = FENCE * (q3 - q1) + MIN_SPAN * Math.max(Math.abs(q1), Math.abs(q3));
    inside = v.filter((x) => x >= q1 - slack && x <= q3 + slack);
  }
  let lo = inside[0], hi = inside[inside.length - 1];
  if (Number.isFinite(best)) { lo = Math.min(lo, best); hi = Math.max(hi, best); }
  const span = Math.max(hi - lo, MIN_SPAN * Math.max(Math.abs(lo), Math.abs(hi)));
  if (span === 0) return [lo, hi];  // every score 0: niceTicks draws -0.5 to 0.5
  const mid = (lo + hi) / 2;
  return [mid - span / 2 - PAD * span, mid + span / 2 + PAD * span];
}
function direction(run) { return run.meta.objective === "minimize" ? "lower is better" : "higher is better"; }
function renderScorePlot(run, s) {
  const box = document.getElementById("score-plot");
  const x = (h) => xOf(run, h);
  const scored = s.hs.filter((h) => h.score !== null), failed = s.hs.filter((h) => h.score === null && h.status !== "pending");
  const validated = scored.filter((h) => h.holdout !== null && h.holdout !== undefined);
  const xr = extent(s.hs.map(x), [0, 1]);
  const f = frame(box, {
    x: [Math.min(0, xr[0]), Math.max(xr[1], 1)], y: scoreAxis([...scored.map((h) => h.score), ...validated.map((h) => h.holdout)], s.best ? s.best.score : null), rug: true,
    xlabel: state.xaxis === "time" ? "time since the run began" : "model calls", xwhole: state.xaxis !== "time",
    ylabel: `score (${direction(run)})`, label: "scores of every hypothesis", xfmt: state.xaxis === "time" ? seconds : null,
  });
  const off = (v) => (v < f.ylo ? "below" : v > f.yhi ? "above" : null);  // an outlier, or a score not finite
  const clamp = (v) => Math.min(f.yhi, Math.max(f.ylo, Number.isNaN(v) ? f.ylo : v));
  const statuses = allStatuses(run);
  const pts = el("g", { class: "points" }, f.svg);
  let outliers = 0;
  for (const h of scored) {
    const side = off(h.score), cx = f.sx(x(h));
    if (side) {  // on the edge, pointing the way it lies
      const y = f.sy(clamp(h.score)), d = side === "below" ? -9 : 9;
      const mark = el("path", { class: "point hyp outlier", d: `M${cx - 5},${y + d}L${cx + 5},${y + d}L${cx},${y}Z`, fill: STATUS_COLORS.ok, "data-id": h.id, "data-side": side }, pts);
      el("title", {}, mark, `#${h.id} · round ${h.round} · score ${g6(h.score)} (${side} the axis: an outlier)`);
      outliers++;
      continue;
    }
    const dot = el("circle", { class: "point hyp", cx, cy: f.sy(h.score), r: 4, fill: STATUS_COLORS.ok, "fill-opacity": .55, "data-id": h.id }, pts);
    el("title", {}, dot, `#${h.id} · round ${h.round} · score ${g6(h.score)}`);
  }
  const rugY = f.H - f.m.b + 26;
  for (const h of failed) {
    const mark = el("rect", { class: "point hyp failed-mark", x: f.sx(x(h)) - 2, y: rugY, width: 4, height: 10, fill: statusColor(h.status, statuses), "data-id": h.id }, pts);
    el("title", {}, mark, `#${h.id} · ${h.status}: ${h.reason || ""}`);
  }
  if (failed.length) el("text", { x: f.m.l - 6, y: rugY + 9, "text-anchor": "end" }, f.svg, "failed");
  const best = bestPath(run, s.hs, x);
  el("path", { class: "best-line", d: stepPath(f, best.map(([bx, by, id]) => [bx, clamp(by), id]), xr[1]) }, f.svg);
  for (const [bx, by, id] of best) if (!off(by)) el("circle", { class: "point best-point", cx: f.sx(bx), cy: f.sy(by), r: 4.5, fill: "#1f5fbf", "data-id": id }, f.svg);
  for (const h of validated) {  // the held-out score beside the search score (hone.trust)
    if (off(h.holdout)) continue;
    const cx = f.sx(x(h)), cy = f.sy(h.holdout);
    const mark = el("path", { class: "point holdout", d: `M${cx},${cy - 6}L${cx + 6},${cy}L${cx},${cy + 6}L${cx - 6},${cy}Z`, fill: HOLDOUT_COLOR, "data-id": h.id }, pts);
    el("title", {}, mark, `#${h.id} · held-out ${g6(h.holdout)} (search ${g6(h.score)})`);
  }
  f.svg.addEventListener("click", (e) => { const id = e.target.getAttribute("data-id"); if (id) openDetail(run, +id); });
  legend(box, [["best so far", "#1f5fbf"], ["scored", STATUS_COLORS.ok], ...(validated.length ? [[`held-out score (${validated.length} validated)`, HOLDOUT_COLOR, "diamond"]] : []), ...(outliers ? [[`off the axis (${outliers}): its score in its tooltip`, STATUS_COLORS.ok, "triangle"]] : []),
    ...statuses.filter((st) => st !== "ok").map((st) => [st, statusColor(st, statuses)])]);
}
function legend(box, items) {  // items: [text, colour, shape: a dot unless "triangle", "line", "dashed" or "ring"]
  const div = document.createElement("div"), painted = (shape) => (shape === "ring" ? "border-color" : shape && shape !== "diamond" ? "border-top-color" : "background");
  div.className = "legend";
  div.innerHTML = items.map(([t, c, shape]) => `<span><i class="${shape || "dot"}" style="${painted(shape)}:${c}"></i>${esc(t)}</span>`).join("");
  box.appendChild(div);
}
function renderStatusPlot(run, s) {
  const counts = {};
  for (const h of s.hs) counts[h.status] = (counts[h.status] || 0) + 1;
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const statuses = allStatuses(run), box = document.getElementById("status-plot");
  const W = 520, bar = 24, H = Math.max(1, rows.length) * (bar + 8) + 8, left = 110, max = Math.max(1, ...rows.map((r) => r[1]));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "outcomes by status" });
  box.replaceChildren(svg);
  rows.forEach(([status, n], i) => {
    const y = 8 + i * (bar + 8), w = ((W - left - 60) * n) / max;
    el("text", { class: "bar-label", x: left - 8, y: y + bar / 2 + 4, "text-anchor": "end" }, svg, status);
    el("rect", { class: "status-bar", x: left, y, width: Math.max(w, 1), height: bar, fill: statusColor(status, statuses), "data-status": status }, svg);
    el("text", { class: "bar-label bar-count", x: left + w + 6, y: y + bar / 2 + 4 }, svg, String(n));
  });
  if (!rows.length) el("text", { x: 8, y: 20 }, svg, "no hypotheses yet");
}
function renderFindings(run) {  // what the checks of new bests found (hone.trust): each check, and the overfitting notes
  const found = [...run.findings.values()].sort((a, b) => a.id - b.id);
  const overfitting = [...run.notes.values()].filter((n) => n.kind === "overfitting").sort((a, b) => a.id - b.id);
  const panel = document.getElementById("findings-panel");
  panel.hidden = !found.length && !overfitting.length;
  const line = (f) => {
    const what = f.check_name === "validate" && f.passed ? `held-out ${g6(f.score)}${f.text ? " · " + f.text : ""}` : f.text;
    return `<li class="finding ${f.passed ? "passed" : "failed"}" data-id="${f.candidate_id}" data-check="${esc(f.check_name)}">#${f.candidate_id} ${f.passed ? "passed" : "not verified:"} ${esc(f.check_name)}${what ? " · " + esc(what) : ""}</li>`;
  };
  document.getElementById("findings").innerHTML = [
    ...overfitting.map((n) => `<li class="finding overfitting">${esc(n.text)}</li>`),
    ...found.filter((f) => !f.passed).map(line),
    ...found.filter((f) => f.passed).map(line),
  ].join("");
}
function renderNotes(run) {
  const people = [...run.notes.values()].filter((n) => n.kind === "person").sort((a, b) => a.id - b.id);
  const list = document.getElementById("notes");
  list.innerHTML = people.length
    ? people.map((n) => `<li class="note">${esc(n.text)} <span class="when">added after round ${n.round}, ${new Date(n.created * 1000).toLocaleTimeString()}</span></li>`).join("")
    : `<li class="when">No notes yet. A note goes into every following prompt of this run.</li>`;
}
function newBests(run, hs) {
  const ids = new Set(); let best = null;
  for (const h of hs) if (h.score !== null && better(run, h.score, best)) { best = h.score; ids.add(h.id); }
  return ids;
}
function tableRows(run, hs, bests) {
  return hs.map((h) => `<tr data-id="${h.id}">
    <td class="num">#${h.id}</td><td class="num">${h.round}</td><td>${h.parents.map((p) => "#" + p).join(" ")}${h.crossover ? " ✕" : ""}</td>
    <td><span class="badge ${h.status === "ok" ? "ok" : h.status === "pending" ? "pending" : ""}">${esc(h.status)}</span></td>
    <td class="num">${h.score === null ? "" : g6(h.score)}${bests.has(h.id) ? " ★" : ""}</td><td class="num">${h.call ?? ""}</td>
    <td class="num">${h.eval_seconds == null ? "" : h.eval_seconds.toFixed(2)}</td><td class="reason">${esc(h.reason || h.feedback)}</td></tr>`).join("");
}
const PAGE = 100;  // rows of a long run's table fetched at a time (hone.web.data.PAGE)
async function renderPage(run) {  // a long run's table: one page at a time, newest first, worked out by the server
  const chosen = document.getElementById("filter-status").value, since = +document.getElementById("filter-round").value || 0;
  const key = `${run.index}|${chosen}|${since}|${state.page}`;
  if (state.pageKey !== key || Date.now() - state.pageAt > 2000) {
    state.pageKey = key; state.pageAt = Date.now();
    const query = new URLSearchParams({ offset: state.page * PAGE, limit: PAGE, status: chosen, since });
    const response = await fetch(`/api/runs/${run.index}/page?${query}`);
    if (!response.ok || state.pageKey !== key) return;
    state.pageData = fromJson(await response.text());
  }
  const { rows, total } = state.pageData, first = state.page * PAGE;
  document.getElementById("filter-count").textContent = rows.length ? `${(first + 1).toLocaleString("en-US")}–${(first + rows.length).toLocaleString("en-US")} of ${total.toLocaleString("en-US")} hypotheses, newest first` : `none of ${total.toLocaleString("en-US")} hypotheses`;
  document.getElementById("page-prev").disabled = state.page === 0;
  document.getElementById("page-next").disabled = first + rows.length >= total;
  document.querySelector("#hyp-table tbody").innerHTML = tableRows(run, rows, new Set());
}
function renderTable(run, s) {
  const sel = document.getElementById("filter-status"), chosen = sel.value;
  const statuses = run.sampled && run.totals ? Object.keys(run.totals.statuses).sort() : allStatuses(run);
  sel.innerHTML = `<option value="">all</option><option value="failed">every failure</option>` + statuses.map((st) => `<option>${esc(st)}</option>`).join("");
  sel.value = chosen;
  const paged = run.sampled && !STATIC;
  document.getElementById("pager").hidden = !paged;
  for (const id of ["filter-text", "filter-best"]) document.getElementById(id).closest("label").hidden = paged;
  if (paged) { renderPage(run); return; }
  const fromRound = +document.getElementById("filter-round").value || 0;
  const text = document.getElementById("filter-text").value.trim().toLowerCase();
  const onlyBest = document.getElementById("filter-best").checked, bests = newBests(run, s.hs);
  const shown = s.hs.filter((h) =>
    (!chosen || h.status === chosen || (chosen === "failed" && h.status !== "ok" && h.status !== "pending")) &&
    h.round >= fromRound && (!onlyBest || bests.has(h.id)) &&
    (!text || `${h.reason} ${h.feedback} ${JSON.stringify(h.metrics)}`.toLowerCase().includes(text)));
  document.getElementById("filter-count").textContent = run.sampled
    ? `${shown.length} of the ${s.hs.length} drawn of ${s.count.toLocaleString("en-US")} hypotheses (the best, the newest and an even sample; hone dashboard pages through all)`
    : `${shown.length} of ${s.hs.length} hypotheses`;
  document.querySelector("#hyp-table tbody").innerHTML = tableRows(run, shown, bests);
}
function renderLineage(run, s) {  // rounds left to right; in each, its hypotheses top to bottom by id
  const box = document.getElementById("lineage-plot"), statuses = allStatuses(run);
  const byRound = new Map();
  for (const h of s.hs) { if (!byRound.has(h.round)) byRound.set(h.round, []); byRound.get(h.round).push(h); }
  const rounds = [...byRound.keys()].sort((a, b) => a - b), col = 56, rowH = 22, top = 44, left = 64;
  const tallest = Math.max(1, ...[...byRound.values()].map((l) => l.length));
  const W = Math.max(600, left + 24 + rounds.length * col), H = Math.max(top + tallest * rowH + 20, 230);  // (room for the side label)
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": "lineage: each hypothesis by round, linked to the programs it came from" });
  box.replaceChildren(svg);
  const axis = el("g", { class: "axis lineage-axis" }, svg);
  el("text", { class: "axis-title", x: left + 4, y: 12 }, axis, "round →");
  el("text", { class: "axis-title", x: 10, y: top + 4, transform: `rotate(90 10 ${top + 4})` }, axis, "hypotheses of the round, by id ↓");
  const pos = new Map();
  rounds.forEach((r, i) => {
    const x = left + 12 + i * col;
    el("text", { class: "round-label", x, y: top - 12, "text-anchor": "middle" }, axis, String(r));
    byRound.get(r).forEach((h, j) => pos.set(h.id, [x, top + j * rowH + rowH / 2]));
  });
  const edges = el("g", {}, svg), nodes = el("g", {}, svg);
  for (const h of s.hs) {
    const [x, y] = pos.get(h.id);
    h.parents.slice(0, h.crossover ? 2 : 1).forEach((p, k) => {
      if (!pos.has(p)) return;
      const [px, py] = pos.get(p);
      const edge = el("path", { class: k ? "edge cross" : "edge", d: `M${px},${py}C${(px + x) / 2},${py} ${(px + x) / 2},${y} ${x},${y}`, "data-from": p, "data-to": h.id }, edges);
      el("title", {}, edge, `#${p} → #${h.id}${k ? " (the crossover's second program)" : h.crossover ? " (the crossover's first program)" : " (edited)"}`);
    });
    const node = el("circle", { class: `point node${h.crossover ? " crossover" : ""}`, cx: x, cy: y, r: 6, fill: statusColor(h.status, statuses), "data-id": h.id }, nodes);
    el("title", {}, node, `#${h.id} · round ${h.round} · ${h.status}${h.score !== null ? " · " + g6(h.score) : ""}${h.parents.length ? " · from " + h.parents.map((p) => "#" + p).join(", ") : " · a starting program"}${h.crossover ? " · crossover" : ""}`);
    el("text", { class: "node-label", x: x + 9, y: y + 3.5 }, nodes, `#${h.id}`);
  }
  if (s.best && pos.has(s.best.id)) { const [x, y] = pos.get(s.best.id); el("circle", { class: "ring", cx: x, cy: y, r: 10 }, nodes); }
  svg.addEventListener("click", (e) => { const id = e.target.getAttribute("data-id"); if (id) openDetail(run, +id); });
  const crossed = s.hs.some((h) => h.crossover), key = document.getElementById("lineage-key");
  key.replaceChildren();
  legend(key, [...statuses.map((st) => [st === "ok" ? "ok (scored)" : st, statusColor(st, statuses)]),
    ["parent → child (edited)", "#aab3c2", "line"], ...(crossed ? [["crossover: its second parent", "#d97706", "dashed"], ["a crossover's child", "#d97706", "ring"]] : []),
    [`best (#${s.best ? s.best.id : "-"})`, "#1f5fbf", "ring"]]);
}
// The strategy views draw where the strategy placed each hypothesis when it was told of it
// (`placement`, stored by hone.strategies), in the order the placements were recorded; they
// work out nothing of the strategy's policy themselves.
function placedOf(hs) { return hs.filter((h) => h.placement).sort((a, b) => (a.placed ?? 0) - (b.placed ?? 0) || a.id - b.id); }
function renderStrategy(run, s) {
  const body = document.getElementById("strategy-body"), search = run.meta.search || {};
  const strategy = search.strategy || "top-k", placed = placedOf(s.hs);
  const kept = { islands: "islands", "map-elites": "cells", pareto: "front" }[strategy];
  if (kept && !placed.length) {
    body.innerHTML = `<div class="panel"><h2>${esc(strategy)}</h2><p class="no-placements">${s.hs.some((h) => h.status !== "pending") ? `This run's store holds no placements (an older hone recorded it, or nothing was registered yet): hone resume records where the strategy puts each hypothesis, and its ${kept} are drawn from them.` : "Nothing is registered yet."}</p></div>`;
    return;
  }
  if (strategy === "islands") return renderIslands(run, s, body, placed, search.islands || 4);
  if (strategy === "map-elites") return renderCells(run, s, body, placed, search.features || {});
  if (strategy === "pareto") return renderFront(run, s, body, placed, search.objectives || {});
  body.innerHTML = `<div class="panel"><h2>${esc(strategy)}</h2><p>This strategy keeps no islands, cells or front: every parent comes from the one population. The lineage shows which programs it built on.</p></div>`;
}
function renderIslands(run, s, body, placed, count) {
  const rows = [], resets = placed.filter((h) => (h.placement.resets || []).length);
  for (let i = 0; i < count; i++) {
    const members = placed.filter((h) => h.placement.island === i);
    let best = null; for (const h of members) if (h.score !== null && better(run, h.score, best && best.score)) best = h;
    const mine = resets.flatMap((h) => h.placement.resets.filter((r) => r.island === i).map((r) => ({ ...r, after: h.id })));
    const last = mine[mine.length - 1];
    rows.push({ i, n: members.length, ok: members.filter((h) => h.score !== null).length, best, resets: mine.length, last });
  }
  const founders = placed.filter((h) => h.placement.founder).length;
  body.innerHTML = `<div class="panel"><h2>Islands</h2><div id="island-plot" class="plot"></div><p class="hint">Each hypothesis on the island it joined; a dashed line is a reset, after which the weaker half of the islands start again from a survivor's best. ${founders} starting program${founders === 1 ? " is" : "s are"} on every island.</p></div>
    <table class="grid" id="island-table"><thead><tr><th>island</th><th>hypotheses</th><th>scored</th><th>best</th><th>resets</th></tr></thead><tbody>${rows.map((r) =>
    `<tr data-id="${r.best ? r.best.id : ""}"><td>${r.i}</td><td class="num">${r.n}</td><td class="num">${r.ok}</td><td class="num">${r.best ? g6(r.best.score) + " (#" + r.best.id + ")" : "-"}</td><td class="num">${r.resets ? `${r.resets} (last after #${r.last.after}, from island ${r.last.donor}${r.last.seed != null ? ": #" + r.last.seed : ""})` : "-"}</td></tr>`).join("")}</tbody></table>`;
  const box = document.getElementById("island-plot"), x = (h) => xOf(run, h);
  const scored = placed.filter((h) => h.score !== null && h.placement.island != null);
  const f = frame(box, { x: extent(s.hs.map(x)), y: extent(scored.map((h) => h.score)), xlabel: "model calls", xwhole: state.xaxis !== "time", ylabel: "score", label: "scores by island" });
  for (const h of resets) {
    const line = el("line", { class: "reset-line", x1: f.sx(x(h)), x2: f.sx(x(h)), y1: f.m.t, y2: f.H - f.m.b }, f.svg);
    el("title", {}, line, `after #${h.id}: ` + h.placement.resets.map((r) => `island ${r.island} from island ${r.donor}${r.seed != null ? " (#" + r.seed + ")" : ""}`).join(", "));
  }
  for (const h of scored) el("circle", { class: "point island-point", cx: f.sx(x(h)), cy: f.sy(h.score), r: 4, fill: RUN_COLORS[h.placement.island % RUN_COLORS.length], "data-id": h.id, "data-island": h.placement.island }, f.svg);
  f.svg.addEventListener("click", (e) => { const id = e.target.getAttribute("data-id"); if (id) openDetail(run, +id); });
  legend(box, rows.map((r) => [`island ${r.i}`, RUN_COLORS[r.i % RUN_COLORS.length]]));
}
function gridOf(placed) {  // the grid as the strategy kept it: its last redo, then each placement since
  let cells = new Map(), ranges = [];
  for (const h of placed) {
    const p = h.placement;
    if (p.ranges) ranges = p.ranges;
    if (p.grid) cells = new Map(p.grid.map((e) => [e.cell.join(","), { cell: e.cell, id: e.id, n: e.programs }]));
    else if (p.cell) {
      const key = p.cell.join(","), cell = cells.get(key) || { cell: p.cell, id: h.id, n: 0 };
      cell.n++; if (p.elite) cell.id = h.id; cells.set(key, cell);
    }
  }
  return { cells, ranges };
}
function renderCells(run, s, body, placed, features) {
  const names = Object.keys(features).sort(), { cells, ranges } = gridOf(placed);
  const missing = names.filter((n) => !placed.some((h) => h.placement.features && Number.isFinite(h.placement.features[n])));
  const bins = ranges.map((r) => r[2]), total = bins.reduce((a, b) => a * b, 1);
  const nx = bins[0] || 1, ny = bins[1] || 1, size = Math.max(18, Math.min(56, 760 / nx));
  const shown = new Map();  // the first two features' cells; of cells that differ only in the others, the best
  for (const c of cells.values()) {
    const h = run.hyps.get(c.id), key = `${c.cell[0]},${c.cell[1] ?? 0}`, was = shown.get(key);
    if (!h) continue;
    if (!was) shown.set(key, { h, n: c.n, cells: 1 });
    else { was.n += c.n; was.cells++; if (better(run, h.score, was.h.score)) was.h = h; }
  }
  const W = 90 + nx * size, H = 40 + ny * size, range = (i) => ranges[i] ? `[${g6(ranges[i][0])}, ${g6(ranges[i][1])}] in ${ranges[i][2]} bins` : "";
  const absent = missing.length ? `<p class="hint missing-features">No hypothesis has ${missing.map(esc).join(", ")}: the evaluator does not report ${missing.length > 1 ? "them" : "it"} (nor is ${missing.length > 1 ? "any" : "it"} one of the built-in complexity, diversity, score), so no program is on the grid.</p>` : "";
  body.innerHTML = `<div class="panel"><h2>MAP-Elites: ${cells.size} of ${total} cells filled</h2><div id="cell-plot" class="plot scroll"></div><p class="hint">The best program of each cell of ${esc(names[0] || "")} ${range(0)}${names[1] ? " × " + esc(names[1]) + " " + range(1) : ""}, as the strategy keeps them; darker is better.${names.length > 2 ? ` The other features (${names.slice(2).map(esc).join(", ")}) are folded in: each square shows the best of its cells.` : ""}</p>${absent}</div>`;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": "map-elites cells" });
  document.getElementById("cell-plot").replaceChildren(svg);
  const scores = [...shown.values()].map((c) => c.h.score), [lo, hi] = extent(scores);
  const shade = (v) => { let t = hi > lo ? (v - lo) / (hi - lo) : 1; if (run.meta.objective === "minimize") t = 1 - t; return `hsl(215, 65%, ${78 - 48 * t}%)`; };
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
    const cell = shown.get(`${i},${j}`), x = 80 + i * size, y = 10 + (ny - 1 - j) * size;
    const r = el("rect", { class: cell ? "point cell" : "empty-cell", x, y, width: size - 2, height: size - 2, fill: cell ? shade(cell.h.score) : null, "data-id": cell ? cell.h.id : null, "data-cell": `${i},${j}` }, svg);
    if (cell) { el("title", {}, r, `#${cell.h.id}: ${g6(cell.h.score)} (${cell.n} program${cell.n === 1 ? "" : "s"} in ${cell.cells > 1 ? cell.cells + " cells" : "this cell"})`); if (size >= 40) el("text", { class: "cell-text", x: x + 4, y: y + 14 }, svg, g6(cell.h.score)); }
  }
  el("text", { x: 80 + (nx * size) / 2, y: H - 6, "text-anchor": "middle" }, svg, names[0] || "");
  if (names[1]) el("text", { x: 8, y: 14 }, svg, names[1]);
  svg.addEventListener("click", (e) => { const id = e.target.getAttribute("data-id"); if (id) openDetail(run, +id); });
}
function frontOf(placed) {  // the front as the strategy kept it: its last redo, then each placement since
  let front = new Set();
  for (const h of placed) {
    const p = h.placement;
    if (p.members) { front = new Set(p.members); continue; }
    for (const id of p.dominated || []) front.delete(id);
    if (p.front) front.add(h.id);
  }
  return front;
}
function renderFront(run, s, body, placed, objectives) {
  const names = Object.keys(objectives).sort(), [a, b] = names, onFront = frontOf(placed);
  const pts = s.hs.filter((h) => h.score !== null && names.every((n) => Number.isFinite(h.metrics[n])));
  const front = pts.filter((h) => onFront.has(h.id));
  body.innerHTML = `<div class="panel"><h2>Pareto front: ${front.length} of ${pts.length} programs</h2><div id="front-plot" class="plot"></div><p class="hint">${esc(a)} (${objectives[a]}) against ${esc(b)} (${objectives[b]}); the front the strategy keeps is drawn larger and joined.${names.length > 2 ? " Only the first two objectives are drawn." : ""}</p></div>`;
  const box = document.getElementById("front-plot");
  const f = frame(box, { x: extent(pts.map((h) => h.metrics[a])), y: extent(pts.map((h) => h.metrics[b])), xlabel: a, ylabel: b, label: "pareto front" });
  const line = [...front].sort((p, q) => p.metrics[a] - q.metrics[a]).map((h) => `${f.sx(h.metrics[a])},${f.sy(h.metrics[b])}`);
  if (line.length > 1) el("polyline", { class: "front", points: line.join(" ") }, f.svg);
  for (const h of pts) el("circle", { class: onFront.has(h.id) ? "point front-point" : "point", cx: f.sx(h.metrics[a]), cy: f.sy(h.metrics[b]), r: onFront.has(h.id) ? 6 : 3.5, fill: onFront.has(h.id) ? "#1f5fbf" : "#9aa5b8", "data-id": h.id }, f.svg);
  f.svg.addEventListener("click", (e) => { const id = e.target.getAttribute("data-id"); if (id) openDetail(run, +id); });
}
function modelRows(run) {  // hone.web.data.models
  if (run.sampled && run.totals) return [...run.totals.models].sort((x, y) => y.cost - x.cost || y.calls - x.calls);
  const table = new Map();
  for (const c of calls(run)) {
    const r = table.get(c.model) || { model: c.model, calls: 0, errors: 0, pt: 0, ct: 0, latency: 0, cost: 0 };
    r.calls++; r.errors += c.error !== null ? 1 : 0; r.pt += c.prompt_tokens; r.ct += c.completion_tokens; r.latency += c.latency; r.cost += c.cost || 0;
    table.set(c.model, r);
  }
  return [...table.values()].sort((x, y) => y.cost - x.cost || y.calls - x.calls);
}
function priceText(price) {  // hone.web.data.price_text
  if (!price) return "no price known: counted as 0";
  if (price.source === "local") return "local: free";
  return `$${g6(price.input)} / $${g6(price.output)} per M tokens in/out (${price.source})`;
}
function renderModels(run) {
  const prices = run.meta.prices || {}, rows = modelRows(run);
  document.querySelector("#model-table tbody").innerHTML = rows.map((r) => `<tr><td>${esc(r.model)}</td><td class="num">${r.calls}</td><td class="num">${r.errors}</td>
    <td class="num">${r.pt.toLocaleString("en-US")}</td><td class="num">${r.ct.toLocaleString("en-US")}</td><td class="num">${(r.latency / r.calls).toFixed(2)} s</td>
    <td class="num">${money(r.cost)}</td><td>${esc(priceText(prices[r.model]))}</td></tr>`).join("") || `<tr><td colspan="8">no model calls yet</td></tr>`;
  const cs = calls(run); let total = 0; const pts = [[0, 0], ...cs.map((c, i) => [i + 1, (total += c.cost || 0)])];
  if (run.sampled && run.totals) {  // a long run's calls are drawn: the line runs through their ids to its total
    const each = run.totals.calls ? run.totals.cost / run.totals.calls : 0;
    pts.splice(1, pts.length, ...cs.map((c) => [c.id, c.id * each]));
    total = run.totals.cost;
  }
  const box = document.getElementById("cost-plot");
  if (!(total > 0)) {  // no axis of noise (1e-06) for a run that cost nothing: say why it cost nothing
    const unpriced = rows.filter((r) => !prices[r.model]).map((r) => r.model);
    const local = rows.every((r) => prices[r.model] && prices[r.model].source === "local");
    box.innerHTML = `<p class="no-cost">${!cs.length ? "No model calls yet." : unpriced.length ? `$0 so far: no price is known for ${esc(unpriced.join(", "))}, so its calls count 0 (pass --prices FILE to price them).` : local ? "Local models: no cost." : "$0 so far."}</p>`;
    return;
  }
  const f = frame(box, { x: [0, Math.max(1, run.sampled && run.totals ? run.totals.calls : cs.length)], y: [0, total], xlabel: "model calls", xwhole: true, ylabel: "USD", label: "cost over calls", height: 220, yfmt: (t, step) => "$" + tickText(t, step) });
  if (cs.length) el("path", { class: "best-line cost-line", d: "M" + pts.map(([x, y]) => `${f.sx(x)},${f.sy(y)}`).join("L") }, f.svg);
}
function serverRows(run) {  // hone.web.data.RunReader.endpoints: per server, in the order first used
  if (run.sampled && run.totals) return run.totals.servers;
  const table = new Map();
  for (const c of calls(run)) {
    if (!c.endpoint) continue;
    const r = table.get(c.endpoint) || { endpoint: c.endpoint, calls: 0, failed: 0, latencies: [] };
    if (c.error !== null) r.failed++; else { r.calls++; r.latencies.push(c.latency); }
    table.set(c.endpoint, r);
  }
  for (const r of table.values()) {
    const l = r.latencies.sort((a, b) => a - b), m = Math.floor((l.length - 1) / 2);
    r.median = l.length ? (l.length % 2 ? l[m] : (l[m] + l[m + 1]) / 2) : null;
  }
  return [...table.values()];
}
function renderServers(run) {  // shown when the calls went to several servers
  const rows = serverRows(run);
  document.getElementById("servers").hidden = rows.length < 2;
  document.querySelector("#server-table tbody").innerHTML = rows.map((r) => `<tr><td>${esc(r.endpoint)}</td><td class="num">${r.calls}</td><td class="num">${r.failed}</td>
    <td class="num">${r.median === null ? "-" : r.median.toFixed(2) + " s"}</td></tr>`).join("");
}
function renderCompare() {
  const box = document.getElementById("compare-plot"), all = state.runs.map((r) => [r, summary(r)]);
  const series = all.map(([r, s]) => bestPath(r, s.hs, (h) => h.call ?? 0));
  const ys = series.flat().map((p) => p[1]), xs = all.map(([r, s]) => s.calls);
  const f = frame(box, { x: [0, Math.max(1, ...xs)], y: extent(ys), xlabel: "model calls", xwhole: true, ylabel: "best score so far", label: "best so far of every run" });
  series.forEach((pts, i) => el("path", { class: "best-line run-line", d: stepPath(f, pts, all[i][1].calls), style: `stroke:${RUN_COLORS[i % RUN_COLORS.length]}` }, f.svg));
  legend(box, state.runs.map((r, i) => [r.label, RUN_COLORS[i % RUN_COLORS.length]]));
  document.querySelector("#compare-table tbody").innerHTML = all.map(([r, s]) => `<tr data-run="${r.index}"><td>${esc(r.label)}</td><td>${esc(r.meta.task_name)}</td>
    <td>${esc(modelNames(r))}</td><td>${esc((r.meta.search || {}).strategy)}</td><td>${esc(statusOf(r).text)}</td><td class="num">${s.best ? g6(s.best.score) : "-"}</td>
    <td class="num">${s.count}</td><td class="num">${s.failed}</td><td class="num">${s.calls}</td><td class="num">${money(s.cost)}</td></tr>`).join("");
}

// ---- one hypothesis -------------------------------------------------------------------------
async function openDetail(run, id) {
  state.detail = id;
  let h = run.details[id];
  if (!h && !STATIC) {
    const response = await fetch(`/api/runs/${run.index}/hypotheses/${id}`);
    if (response.ok) h = fromJson(await response.text());
  }
  if (state.detail !== id) return;
  const title = document.getElementById("detail-title"), body = document.getElementById("detail-body");
  document.getElementById("detail").hidden = false;
  if (!h) { title.textContent = `hypothesis #${id}`; body.innerHTML = "<p>Not in this report.</p>"; return; }
  title.textContent = `Hypothesis #${h.id}` + (h.score !== null ? ` · score ${g6(h.score)}` : ` · ${h.status}`);
  const links = (ids) => ids.map((p) => `<a class="link" data-open="${p}">#${p}</a>`).join("") || "-";
  const c = h.call;
  const facts = [
    ["status", `<span class="badge ${h.status === "ok" ? "ok" : ""}">${esc(h.status)}</span>${h.cached_from != null ? ` outcome reused from ${links([h.cached_from])}` : ""}`],
    ["round", h.round], ["edited", links(h.parents.slice(0, 1))], ["also shown", links(h.parents.slice(1))],
    ["crossover", h.crossover ? "yes: combines the first two" : "no"], ["children", links(h.children || [])],
    ["placed", esc(placementText(h.placement))],
    ["model", c ? esc(c.model) : "- (a starting program)"],
    ["tokens", c ? `${c.prompt_tokens} prompt + ${c.completion_tokens} completion` : "-"],
    ["latency", c ? `${c.latency.toFixed(2)} s` : "-"], ["cost", c ? (c.cost === null ? "no price known" : money(c.cost)) : "-"],
    ["evaluation", h.eval_seconds != null ? `${h.eval_seconds.toFixed(2)} s` : "-"],
  ];
  const metrics = Object.entries(h.metrics || {}).sort();
  const noProgram = h.code === null && c;  // an answer that did not apply (invalid-edit): what the model said, not a diff
  body.innerHTML = `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>
    ${metrics.length ? `<h3>Metrics</h3><table class="grid metrics"><tbody>${metrics.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${g6(v)}</td></tr>`).join("")}</tbody></table>` : ""}
    ${h.feedback ? `<h3>Feedback</h3><pre class="wrap feedback">${esc(h.feedback)}</pre>` : ""}
    ${noProgram ? `<p class="no-program">The model's answer did not apply, so no program was made: below are why, and what it returned (no diff: there is no program to compare with #${esc(h.parents[0] ?? "-")}).</p>` : ""}
    ${h.reason ? `<h3>${noProgram ? "Why the answer was rejected" : "Why it failed"}</h3><pre class="wrap reason">${esc(h.reason)}</pre>` : ""}
    ${noProgram ? `<h3>What the model returned</h3><pre class="wrap answer">${esc(c.completion)}</pre>
    <details><summary>Prompt</summary><pre class="wrap prompt">${esc(c.prompt)}</pre></details>` : `
    <h3>Diff against its parent</h3>${h.diff ? filesHtml(fileDiffs(h.diff)) : "<p>(none: a starting program, or no change)</p>"}
    <details><summary>Program</summary><pre class="code">${esc(h.code)}</pre></details>
    ${c ? `<details><summary>Prompt</summary><pre class="wrap prompt">${esc(c.prompt)}</pre></details><details open><summary>Answer</summary><pre class="wrap answer">${esc(c.completion)}</pre></details>` : ""}`}
    ${h.output ? `<details><summary>Output</summary><pre class="wrap">${esc(h.output)}</pre></details>` : ""}`;
  body.querySelectorAll("[data-open]").forEach((a) => a.addEventListener("click", () => openDetail(run, +a.dataset.open)));
}
function placementText(p) {  // where the strategy placed it when told of it
  if (!p) return "-";
  if (p.founder) return "on every island (a starting program)";
  if (p.island != null) return `island ${p.island}` + ((p.resets || []).length ? `; then islands ${p.resets.map((r) => r.island).join(", ")} were reset` : "");
  if (p.cell) return `cell (${p.cell.join(", ")}) of ${Object.entries(p.features || {}).map(([k, v]) => `${k} ${g6(v)}`).join(", ")}${p.elite ? "; the best of its cell then" : ""}`;
  if (p.features) return `off the grid: ${Object.entries(p.features).filter(([, v]) => !Number.isFinite(v)).map(([k]) => k).join(", ")} not reported as a finite number`;
  if (p.front !== undefined) return p.front ? "on the Pareto front" : "off the Pareto front";
  return p.ranges ? "off the grid (not scored, or a copy)" : "-";
}
function fileDiffs(diff) {  // the tree's diff (hone.tree.Tree.diff: one "diff --git" section per changed file) split by file, each with its path and line counts
  const files = [];
  let file = null;
  for (const line of diff.split("\n")) {
    if (line.startsWith("diff --git ") || !file) files.push(file = {path: "", lines: [], added: 0, removed: 0, created: false, hunks: false});
    file.lines.push(line);
    if (line.startsWith("@@")) file.hunks = true;
    else if (!file.hunks) {  // the file's header: its path, and whether it is new
      if (line.startsWith("+++ ")) file.path = line.slice(4).replace(/^b\//, "");
      else if (line.startsWith("new file mode") || line === "--- /dev/null") file.created = true;
    } else if (line.startsWith("+")) file.added++;
    else if (line.startsWith("-")) file.removed++;
  }
  for (const f of files) while (f.lines.length && f.lines[f.lines.length - 1] === "") f.lines.pop();  // (the diff ends with a newline)
  return files.filter((f) => f.lines.length);
}
function filesHtml(files) {  // a section per changed file: its path, what changed in it, its hunks
  const summary = files.length > 1 ? `<p class="files-changed">${files.length} files changed: ${files.map((f) => `<code>${esc(f.path)}</code>`).join(", ")}</p>` : "";
  return summary + files.map((f) => `<section class="file-diff" data-path="${esc(f.path)}">
    <h4><code class="path">${esc(f.path || "(unnamed)")}</code> <span class="counts">${f.created ? "new file, " : ""}<span class="plus">+${f.added}</span> <span class="minus">−${f.removed}</span></span></h4>
    <pre class="diff">${diffHtml(f.lines.filter((l) => !l.startsWith("diff --git ")).join("\n"))}</pre></section>`).join("");
}
function diffHtml(diff) {
  return diff.split("\n").map((line) => {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    return cls ? `<span class="${cls}">${esc(line)}</span>` : esc(line) + "\n";
  }).join("");
}

// ---- the page -------------------------------------------------------------------------------
function renderLive(run) {  // "live" only while a process drives the shown run; else how it stands (stopped, and why)
  document.querySelectorAll("#runs a").forEach((a) => a.classList.toggle("running", !!statusOf(state.runs[+a.dataset.run]).running));
  if (STATIC) return;  // a report says when it was written
  const badge = document.getElementById("live"), st = statusOf(run);
  badge.classList.toggle("on", state.connected && st.running);
  badge.textContent = !state.connected ? "reconnecting…" : st.running ? (st.text === "running" ? "live" : `live: ${st.text}`) : st.text;
}
function render() {
  const run = state.runs[state.run];
  if (!run) return;
  document.querySelectorAll("#runs a").forEach((a) => a.classList.toggle("active", +a.dataset.run === state.run));
  document.querySelectorAll("#runs a").forEach((a) => a.classList.toggle("lost", !!state.runs[+a.dataset.run].gone));
  const gone = document.getElementById("gone");
  gone.hidden = !run.gone;
  gone.textContent = run.gone || "";
  document.querySelectorAll("#views a").forEach((a) => a.classList.toggle("active", a.dataset.view === state.view));
  document.querySelector('#views a[data-view="compare"]').classList.toggle("hidden", state.runs.length < 2);
  document.querySelectorAll(".view").forEach((v) => v.classList.toggle("active", v.id === state.view));
  const s = summary(run);
  renderLive(run);
  document.title = `hone · ${run.label} · best ${s.best ? g6(s.best.score) : "-"}`;
  if (state.view === "overview") { renderStats(run, s); renderBest(run, s); renderScorePlot(run, s); renderStatusPlot(run, s); renderFindings(run); renderNotes(run); }
  else if (state.view === "hypotheses") renderTable(run, s);
  else if (state.view === "lineage") renderLineage(run, s);
  else if (state.view === "strategy") renderStrategy(run, s);
  else if (state.view === "models") { renderModels(run); renderServers(run); }
  else if (state.view === "compare") renderCompare();
}
let pending = false;
function schedule() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; render(); }); } }
function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const shown = Math.min(+params.get("run") || 0, Math.max(0, state.runs.length - 1));
  if (shown !== state.run) state.page = 0;
  state.run = shown;
  state.view = params.get("view") || "overview";
  render();
  if (params.get("h")) openDetail(state.runs[state.run], +params.get("h"));
}
function go(changes) {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const [k, v] of Object.entries(changes)) v === null ? params.delete(k) : params.set(k, v);
  location.hash = params.toString();
}
function setUp(runs) {
  state.runs = runs;
  document.getElementById("runs").innerHTML = runs.map((r) => `<a href="#" data-run="${r.index}">${esc(r.label)}</a>`).join("");
  document.getElementById("runs").addEventListener("click", (e) => { const a = e.target.closest("a"); if (a) { e.preventDefault(); go({ run: a.dataset.run, h: null }); } });
  document.getElementById("views").addEventListener("click", (e) => { const a = e.target.closest("a"); if (a) { e.preventDefault(); go({ view: a.dataset.view }); } });
  document.querySelectorAll('input[name="xaxis"]').forEach((r) => r.addEventListener("change", () => { state.xaxis = r.value; render(); }));
  for (const id of ["filter-status", "filter-round", "filter-text", "filter-best"]) document.getElementById(id).addEventListener("input", () => { state.page = 0; render(); });
  document.querySelector("#hyp-table tbody").addEventListener("click", (e) => { const tr = e.target.closest("tr"); if (tr) openDetail(state.runs[state.run], +tr.dataset.id); });
  document.getElementById("strategy-body").addEventListener("click", (e) => { const tr = e.target.closest("tr[data-id]"); if (tr && tr.dataset.id) openDetail(state.runs[state.run], +tr.dataset.id); });
  document.querySelector("#compare-table tbody").addEventListener("click", (e) => { const tr = e.target.closest("tr"); if (tr) go({ run: tr.dataset.run, view: "overview" }); });
  const opener = (e) => { const card = e.target.closest("[data-open]"); if (card && card.dataset.open) openDetail(state.runs[state.run], +card.dataset.open); };
  document.getElementById("stats").addEventListener("click", opener);
  document.getElementById("stats").addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); opener(e); } });
  document.getElementById("best-open").addEventListener("click", (e) => { e.preventDefault(); opener(e); });
  document.getElementById("best-more").addEventListener("click", (e) => { e.preventDefault(); state.bestOpen = !state.bestOpen; render(); });
  document.getElementById("detail-close").addEventListener("click", () => { state.detail = null; document.getElementById("detail").hidden = true; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") document.getElementById("detail-close").click(); });
  window.addEventListener("hashchange", route);
  route();
}
async function sendNote(e) {
  e.preventDefault();
  const box = document.getElementById("note-text"), status = document.getElementById("note-status"), run = state.runs[state.run];
  const response = await fetch(`/api/runs/${run.index}/notes`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: box.value }) });
  const answer = await response.json();
  if (response.ok) {
    box.value = "";
    status.textContent = answer.status === "running" ? `Note ${answer.id} kept: the next prompts carry it.` : `Note ${answer.id} kept: hone resume carries it into the prompts.`;
  } else status.textContent = answer.error;
}
async function live() {
  const runs = (await (await fetch("/api/runs")).json()).map((r) => newRun(r.index, r.label, r.path));
  document.getElementById("note-form").addEventListener("submit", sendNote);
  document.getElementById("page-prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); render(); });
  document.getElementById("page-next").addEventListener("click", () => { state.page += 1; render(); });
  const indicator = document.getElementById("live"), stream = new EventSource("/api/stream");
  stream.onopen = () => { state.connected = true; schedule(); };
  stream.onerror = () => { state.connected = false; indicator.textContent = "reconnecting…"; indicator.classList.remove("on"); };
  let ready = false;
  stream.onmessage = (e) => {  // a snapshot of each run, then its changes (again after a reconnection)
    const delta = fromJson(e.data);
    merge(runs[delta.run], delta);
    if (!ready && runs.every((r) => r.loaded)) { ready = true; setUp(runs); }
    else if (ready) schedule();
  };
}
function fromReport() {
  const data = fromJson(EMBEDDED.textContent);
  document.body.classList.add("static-mode");
  const indicator = document.getElementById("live");
  indicator.textContent = `report of ${new Date(data.generated * 1000).toLocaleString()}`;
  setUp(data.runs.map((r, i) => { const run = newRun(i, r.label, r.path); merge(run, r.snapshot); run.details = r.details; return run; }));
}
STATIC ? fromReport() : live();
