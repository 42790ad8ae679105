"""Credit for the gain: how much of the best's improvement over the start came from the model's
hypotheses and how much from parameter-tuning trials, so that no run claims the model improved
what tuning did.

Each improvement of the best so far is credited to the kind of the hypothesis that made it: a
tuning trial's (kind "tune") to tuning, any other with a parent to the model. A starting program
(no parent) is no gain: the best of them is where the gain is counted from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hone.objective import Objective, better
from hone.population import TUNE, Candidate


@dataclass(frozen=True)
class Credit:
    """The start's and the best's scores, and the gain between them by whom it was made
    (each an improvement: positive whichever way is better)."""

    start: float | None = None
    best: float | None = None
    model: float = 0.0
    tuning: float = 0.0

    @property
    def text(self) -> str:
        """'best 2.2442: model 0.0231, tuning 0.0135' (the parts with as many decimals as the
        scores are shown with); just 'best 2.2442' when no start scored."""
        if self.best is None:
            return "best -"
        head = f"best {self.best:.6g}"
        if self.start is None:
            return head
        return f"{head}: {self._parts}"

    @property
    def gain(self) -> str:
        """'gain from the start 2.20763 → 2.24424: model 0.0231, tuning 0.0135'."""
        if self.best is None or self.start is None:
            return "gain from the start: - (the start scored nothing)"
        return f"gain from the start {self.start:.6g} → {self.best:.6g}: {self._parts}"

    @property
    def _parts(self) -> str:
        assert self.start is not None and self.best is not None
        places = _places(self.start), _places(self.best)
        shown = None if None in places else max(p for p in places if p is not None)
        return f"model {_amount(self.model, shown)}, tuning {_amount(self.tuning, shown)}"


def credit(candidates: Iterable[Candidate], objective: Objective) -> Credit:
    """The credit of a run's hypotheses, in the order they were registered (id order)."""
    bests: list[Candidate] = []
    best: float | None = None
    for candidate in candidates:
        if candidate.score is not None and better(objective, candidate.score, best):
            bests.append(candidate)
            best = candidate.score
    return of_bests(bests)


def of_bests(bests: Iterable[Candidate]) -> Credit:
    """The credit of a run's successive new bests (`hone.events.NewBest`), in order."""
    start: float | None = None
    best: float | None = None
    model = tuning = 0.0
    for candidate in bests:
        score = candidate.score
        if score is None:
            continue
        if not candidate.parent_ids:
            start = score  # a starting program: where the gain counts from
        elif best is not None:
            gain = abs(score - best)
            if candidate.kind == TUNE:
                tuning += gain
            else:
                model += gain
        best = score
    return Credit(start, best, model, tuning)


def _places(value: float) -> int | None:
    """Decimals `value` is shown with (to 6 significant digits); None in exponent form."""
    text = f"{value:.6g}"
    return None if "e" in text else len(text.partition(".")[2])


def _amount(value: float, places: int | None) -> str:
    """A gain with no more decimals than the scores it is the difference of."""
    rounded = value if places is None else round(value, places)
    return f"{rounded:.6g}" if rounded else "0"


__all__ = ["Credit", "credit", "of_bests"]
