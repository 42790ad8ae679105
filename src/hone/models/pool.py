"""Several servers of one model, one pool: each request goes to the server in service with the
fewest requests in flight (of equals, the next in turn), no server gets more at once than it
takes, and a server that fails is taken out for a growing back-off and probed before it comes
back.

`Metered` sends every request of a run through a `Pool`. One server (`--base-url` once), or a
model that is no server's (the embedded model, a test's double), is the pool of one, which is
never taken out: there is nowhere else to send. With several (`--base-url` given several times,
`[model] base_urls`), a request that failed on one is sent to another (`Metered` stores each
try), and a stalled call's hedge (`hone.models.hedge`) goes to another.

A server's health:

- in service: it takes requests, up to its limit (its `max_in_flight`, or what it says it
  serves: llama.cpp's `/props`);
- out: a request failed there (unreachable, reset, a 5xx or 429, no answer in time, an answer
  that is no completion, or beaten by its hedge at another server): it is out for
  `Backoff.after(failures)` seconds, 1, 2, 4, ... at most 60, with each failure in a row;
- probed: once the back-off is over, a cheap request (`Probed.probe`: GET /models, through the
  SDK) asks whether it answers: yes, it is back in service; no, out again, for longer. A model
  without a probe comes back untested: its next request is the probe.

An answer ends a server's run of failures. What a request that was sent before the server's
last change of health tells is not taken (eight requests failing at once take it out once).
When every server a call may still use is out and none is being probed, the call goes to the
one back soonest: nowhere else would answer either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from hone.exceptions import ModelError, UserError
from hone.models.base import Completion, Model, Probed, Request, Slotted, Style
from hone.settings import Server

log = logging.getLogger("hone")

PROBE_TIMEOUT = 5.0  # seconds a probe may take before the server counts as down still
RETRIES = 2  # the SDK's own retries of a request at a pool of one's server (none with several)


@dataclass(frozen=True)
class Backoff:
    """How long a failed server stays out: `first` seconds, doubled with each failure in a
    row (a failed probe is one), at most `most`."""

    first: float = 1.0
    most: float = 60.0

    def after(self, failures: int) -> float:
        """Seconds out after `failures` (1 or more) failures in a row."""
        return min(self.first * 2.0 ** min(max(failures - 1, 0), 64), self.most)


@dataclass(eq=False)
class Endpoint:
    """One server of a pool and how it stands."""

    url: str  # "" for a model that is no server's
    model: Model
    max_in_flight: int = 0  # its own limit of requests at once (0: none but what it serves)
    in_flight: int = 0
    failures: int = 0  # failed in a row: its back-off grows with them
    out_until: float | None = None  # out of service until then (the pool's clock), then probed
    probing: bool = False
    reason: str = ""  # why it was last taken out
    epoch: int = 0  # counts its changes of health

    @property
    def limit(self) -> int | None:
        """Requests it takes at once: its own limit or what it serves, the fewer (None: no
        limit)."""
        served = self.model.slots if isinstance(self.model, Slotted) else None
        limits = [n for n in (self.max_in_flight, served) if n]
        return min(limits) if limits else None

    @property
    def in_service(self) -> bool:
        """True when it takes requests."""
        return self.out_until is None

    @property
    def has_room(self) -> bool:
        """True when it takes one more request now (in service or not)."""
        limit = self.limit
        return limit is None or self.in_flight < limit


@dataclass(frozen=True, eq=False)
class Lease:
    """A request's hold on a server: one of its slots, and its health when it was sent."""

    endpoint: Endpoint
    epoch: int


class Pool:
    """A model served by several servers (a `Model` too: `generate` tries another server when
    one fails); `Metered` leases a server for each request itself."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        backoff: Backoff = Backoff(),
        probe_timeout: float = PROBE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not endpoints:
            raise ValueError("a pool needs at least one server")
        self.endpoints = list(endpoints)
        self.name: str = self.endpoints[0].model.name
        self.style: Style = self.endpoints[0].model.style
        self.backoff = backoff
        self.probe_timeout = probe_timeout
        self.clock = clock
        self._turn = 0  # the index the next tie goes to
        self._change: asyncio.Future[None] | None = None  # set when anything changes
        self._probes: set[asyncio.Task[None]] = set()
        self._held: set[Lease] = set()  # leases not released yet

    @classmethod
    def of(
        cls, model: Model, max_in_flight: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> Pool:
        """`model` as a pool: itself when it is one, else the pool of one."""
        if isinstance(model, Pool):
            return model
        url = getattr(model, "base_url", None)
        endpoint = Endpoint(url if isinstance(url, str) else "", model, max_in_flight)
        return cls([endpoint], clock=clock)

    # -- the choice ------------------------------------------------------------------------
    def pick(self, exclude: Collection[Endpoint] = ()) -> Endpoint | None:
        """The server in service with room, not in `exclude`, with the fewest requests in
        flight (of equals, the next in turn); None when none has room now."""
        ready = [e for e in self.endpoints if e not in exclude and e.in_service and e.has_room]
        if not ready:
            return None
        fewest = min(e.in_flight for e in ready)
        count = len(self.endpoints)
        return min(
            (e for e in ready if e.in_flight == fewest),
            key=lambda e: (self.endpoints.index(e) - self._turn) % count,
        )

    def usable(self, exclude: Collection[Endpoint] = ()) -> bool:
        """True when a server not in `exclude` is in service (with room now or later)."""
        return any(e.in_service for e in self.endpoints if e not in exclude)

    def lease(self, endpoint: Endpoint) -> Lease:
        """Take a slot at `endpoint` for one request (`release` gives it back)."""
        endpoint.in_flight += 1
        self._turn = (self.endpoints.index(endpoint) + 1) % len(self.endpoints)
        lease = Lease(endpoint, endpoint.epoch)
        self._held.add(lease)
        return lease

    async def acquire(self, exclude: Collection[Endpoint] = ()) -> Lease:
        """A slot at the server the next request goes to (`pick`), once one has room; when
        every server not in `exclude` is out and none is being probed, at the one back
        soonest (nowhere else would answer)."""
        while True:
            self._start_probes()
            chosen = self.pick(exclude) or self._last_resort(exclude)
            if chosen is not None:
                return self.lease(chosen)
            await self._changed()

    def _last_resort(self, exclude: Collection[Endpoint]) -> Endpoint | None:
        left = [e for e in self.endpoints if e not in exclude]
        if not left:
            raise ValueError("every server of the pool is excluded")
        if any(e.in_service or e.probing for e in left):
            return None  # (wait for room there, or for the probe)
        soonest = min(left, key=lambda e: e.out_until or 0.0)
        return soonest if soonest.has_room else None

    # -- health ----------------------------------------------------------------------------
    def release(self, lease: Lease) -> None:
        """The request is over: its slot is free (again: nothing)."""
        if lease in self._held:
            self._held.discard(lease)
            lease.endpoint.in_flight -= 1
            self._notify()

    def answered(self, lease: Lease) -> None:
        """The request was answered: its server's run of failures ends (and a server that
        was out, asked because every one was, is back)."""
        endpoint = lease.endpoint
        if lease.epoch != endpoint.epoch:
            return
        endpoint.failures = 0
        if not endpoint.in_service:
            self._back(endpoint)

    def failed(self, lease: Lease, reason: str) -> None:
        """The request failed through its server's fault (`at_fault`): the server is out for
        its back-off (in a pool of one: nowhere else to send, so nothing changes)."""
        endpoint = lease.endpoint
        if len(self.endpoints) == 1 or lease.epoch != endpoint.epoch or not endpoint.in_service:
            return
        self._out(endpoint, reason)
        level = logging.WARNING if endpoint.failures == 1 else logging.INFO
        log.log(
            level,
            "model server %s is out for %g s (%s); its requests go to the others until a "
            "probe finds it back",
            endpoint.url,
            self.backoff.after(endpoint.failures),
            reason,
        )

    def due(self) -> list[Endpoint]:
        """The servers out whose back-off is over and whose probe has not started."""
        now = self.clock()
        return [
            e
            for e in self.endpoints
            if e.out_until is not None and e.out_until <= now and not e.probing
        ]

    def probing(self, endpoint: Endpoint) -> None:
        """A probe of `endpoint` starts (no request goes there until it ends)."""
        endpoint.probing = True

    def probed(self, endpoint: Endpoint, error: str | None) -> None:
        """A probe of `endpoint` ended: back in service, or (`error`) out again, for longer."""
        endpoint.probing = False
        if error is None:
            self._back(endpoint)
            log.info("model server %s answers again: back in service", endpoint.url)
        else:
            self._out(endpoint, f"{endpoint.reason}; probe: {error}"[-500:])
            log.info(
                "model server %s is still out (probe: %s); asked again in %g s",
                endpoint.url,
                error,
                self.backoff.after(endpoint.failures),
            )

    def _out(self, endpoint: Endpoint, reason: str) -> None:
        endpoint.failures += 1
        endpoint.out_until = self.clock() + self.backoff.after(endpoint.failures)
        endpoint.epoch += 1
        endpoint.reason = reason
        self._notify()

    def _back(self, endpoint: Endpoint) -> None:
        endpoint.out_until = None
        endpoint.epoch += 1
        self._notify()

    def _start_probes(self) -> None:
        for endpoint in self.due():
            if isinstance(endpoint.model, Probed):
                self.probing(endpoint)
                task = asyncio.ensure_future(self._probe(endpoint, endpoint.model))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)
            else:
                self._back(endpoint)  # its next request is the probe

    async def _probe(self, endpoint: Endpoint, model: Probed) -> None:
        try:
            async with asyncio.timeout(self.probe_timeout + 1.0):  # (a probe that ignores it)
                await model.probe(self.probe_timeout)
        except Exception as exc:
            self.probed(endpoint, str(exc) or type(exc).__name__)
        else:
            self.probed(endpoint, None)

    # -- waiting ---------------------------------------------------------------------------
    def _notify(self) -> None:
        if self._change is not None:
            if not self._change.done():
                self._change.set_result(None)
            self._change = None

    async def _changed(self) -> None:
        """Wait until a request ends, a server's health changes or a back-off is over."""
        if self._change is None:
            self._change = asyncio.get_running_loop().create_future()
        now = self.clock()
        ends = [
            e.out_until - now for e in self.endpoints if e.out_until is not None and not e.probing
        ]
        await asyncio.wait({self._change}, timeout=max(min(ends), 0.01) if ends else None)

    # -- as a model ------------------------------------------------------------------------
    async def send(self, lease: Lease, request: Request) -> Completion:
        """`request` at the lease's server; the server's health told how it went, and the
        slot released."""
        try:
            completion = await lease.endpoint.model.generate(request)
        except Exception as exc:
            if at_fault(exc):
                self.failed(lease, _short(exc))
            raise
        else:
            self.answered(lease)
            return completion
        finally:
            self.release(lease)

    async def generate(self, request: Request) -> Completion:
        """Answer `request` at a server of the pool; at another when one fails through its
        fault, while one is in service."""
        tried: list[Endpoint] = []
        while True:
            lease = await self.acquire(tried)
            tried.append(lease.endpoint)
            try:
                return await self.send(lease, request)
            except Exception as exc:
                if not at_fault(exc) or not self.usable(tried):
                    raise

    async def close(self) -> None:
        """Stop the probes; close every server's client."""
        for task in list(self._probes):
            task.cancel()
        await asyncio.gather(*self._probes, return_exceptions=True)
        for endpoint in self.endpoints:
            await endpoint.model.close()


def served(servers: Sequence[Server], member: Callable[[str, int], Model]) -> Pool:
    """The pool of `servers`, each answered by `member(url, retries)`: the SDK retries a
    request at the same server (`RETRIES` times) only in a pool of one; with several, the
    pool sends it to another at once."""
    retries = RETRIES if len(servers) == 1 else 0
    return Pool([Endpoint(s.url, member(s.url, retries), s.max_in_flight) for s in servers])


async def probe_get(client: Any, path: str, sdk: ModuleType, where: str, timeout: float) -> None:
    """Return once the server answers GET `path` through `client`, an SDK's (`sdk`: openai or
    anthropic, whose errors are named alike), in `timeout` seconds, not tried again; any answer
    but a 5xx says it is up (a server without that route answers 404, an answer too); else a
    ModelError saying what happened at `where`."""
    try:
        await client.get(path, cast_to=object, options={"timeout": timeout, "max_retries": 0})
    except sdk.APIStatusError as exc:
        if exc.status_code >= 500:
            raise ModelError(f"{where} answered {exc.status_code}") from None
    except sdk.APITimeoutError:
        raise ModelError(f"{where} did not answer within {timeout:g} s") from None
    except sdk.APIConnectionError:
        raise ModelError(f"cannot reach {where}") from None
    except ValueError:
        pass  # an answer that is no JSON: up all the same


def at_fault(error: BaseException) -> bool:
    """True when a failed request says its server is unwell; False when the server refused the
    request itself (another would too: `ModelError.refused`) or hone did (a UserError)."""
    if isinstance(error, UserError):
        return False
    return not (isinstance(error, ModelError) and error.refused)


def _short(error: BaseException) -> str:
    """Why a request failed, in one short line (for the log)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


__all__ = ["Backoff", "Endpoint", "Lease", "Pool", "at_fault", "probe_get", "served"]
