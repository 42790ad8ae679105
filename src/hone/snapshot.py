"""The population's state kept beside the store as a run goes, so that resuming a long run
does not read every hypothesis again: `restore` loads the last snapshot, checks it against
the store, and registers only the hypotheses placed after it; a snapshot that does not match
(missing, damaged, another hone's, other settings, a store changed under it) is set aside and
the run is read whole, as before there were snapshots.

The snapshot is the `Population` and its strategy's state, pickled (the store's methods they
hold are references, bound again to the resuming run's): a population with a store holds in
memory only what strategies draw from, and a few numbers in arrays for every other hypothesis,
so the snapshot of a million is about 95 MB and loads in a second or two. A run whose
near-copy check asks an embedding model keeps none (its index holds requests in flight) and is
read whole. Only hone writes it, in the run's own folder, which no candidate sees
(`hone.sandbox.visible` refuses to show it).
It is written again once the population has grown by a tenth (`Snapshots.grew`) and as the
run stops, so its cost per hypothesis stays the same however long the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import pickle
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from hone.novelty import NoveltyFilter
from hone.population import Candidate, NearCopies, Population
from hone.store import Store
from hone.strategies import Strategy
from hone.task import Task

FILE = "population.snapshot"
_FORMAT = 2  # a snapshot of another format is read as none
_GROWTH = 0.1  # written again once the population has grown by this part ...
_LEAST = 1000  # ... and by at least this many hypotheses
log = logging.getLogger("hone")


@dataclass(frozen=True)
class Mark:
    """What a snapshot holds, to be checked against the store: the registered hypotheses'
    count and the sum of their ids, and the last placement recorded (every registered
    hypothesis is placed, in the order registered)."""

    count: int
    ids: int
    placed: int


def fingerprint(task: Task) -> str:
    """What a snapshot must have been written under: the objective and the search settings."""
    settings = {"objective": task.objective, "search": dataclasses.asdict(task.search)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


class _Pickler(pickle.Pickler):
    """Pickles the store's methods as references (`_Unpickler` binds them)."""

    def __init__(self, file: IO[bytes], store: Store) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.store = store

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, types.MethodType) and obj.__self__ is self.store:
            return ("store", obj.__name__)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], store: Store) -> None:
        super().__init__(file)
        self.store = store

    def persistent_load(self, pid: Any) -> Any:
        kind, name = pid
        if kind == "store" and name in ("candidates_by_id", "lean_by_id", "codes"):
            return getattr(self.store, name)
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def mark_of(population: Population, store: Store) -> Mark:
    """The population's mark as it stands (every member registered and placed)."""
    row = store.conn.execute("SELECT COALESCE(MAX(placed), 0) FROM candidates").fetchone()
    return Mark(len(population), population.id_sum, int(row[0]))


@dataclass
class Snapshots:
    """Writes a run's snapshot as it goes (`grew`, after each registration) and as it stops
    (`write`)."""

    store: Store
    task: Task
    population: Population
    strategy: Strategy
    written: int = 0  # the population's size at the last snapshot
    failed: bool = False  # one could not be written: no more are tried

    def grew(self) -> None:
        """Write a snapshot once the population has grown enough since the last."""
        if len(self.population) - self.written >= max(_LEAST, _GROWTH * self.written):
            self.write()

    def write(self) -> None:
        """Write the snapshot now (a reader sees the old one or the new one whole). One that
        cannot be written (a full disk, a collaborator that does not pickle) is skipped: the
        next resume reads the run whole."""
        if self.failed or not isinstance(self.population.near_copies, NoveltyFilter):
            return  # (an embedding index holds requests in flight: such a run is read whole)
        target = self.store.path.parent / FILE
        tmp = target.with_name(FILE + ".tmp")
        head = _head(self.store, self.task)
        try:
            mark = mark_of(self.population, self.store)
            with tmp.open("wb") as handle:
                pickler = _Pickler(handle, self.store)
                pickler.dump((head, mark, self.population, self.strategy))
            os.replace(tmp, target)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            log.warning("cannot write the run's snapshot (%s); a resume reads the run whole", exc)
            self.failed = True
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        self.written = len(self.population)


@dataclass(frozen=True)
class Restored:
    """A resumed run's population, its strategy, the placements to store (of hypotheses
    registered now for the first time), and whether a snapshot was used."""

    population: Population
    strategy: Strategy
    placements: list[tuple[int, dict[str, Any]]]
    from_snapshot: bool = False


def restore(
    store: Store,
    task: Task,
    strategy: Strategy,
    near_copies: NearCopies,
) -> Restored:
    """The population the store holds and its strategy, told of each hypothesis: from the
    snapshot and what was placed after it when it matches the store, else read whole into
    `strategy` and a population of `near_copies`."""
    loaded = _load(store, task)
    if loaded is None:
        return read_whole(store, task, strategy, near_copies)
    population, strategy, mark = loaded
    rows = store.each_candidate(placed_after=mark.placed, lean=not task.search.novelty)
    for candidate in rows:  # (their placements are stored: told again, kept as they are)
        strategy.tell(population.add(candidate), population)
    fresh = store.candidates_by_id(sorted(store.unplaced()))  # (a stop cut them short)
    return Restored(population, strategy, _told(population, strategy, fresh), True)


def read_whole(store: Store, task: Task, strategy: Strategy, near_copies: NearCopies) -> Restored:
    """`restore` without a snapshot: every stored hypothesis registered in id order."""
    population = Population(
        task.objective, near_copies, fetch=store.candidates_by_id, lean=store.lean_by_id
    )
    population.keep = getattr(strategy, "keeps", None)  # (`hone.strategies.Keeps`)
    unplaced = store.unplaced()
    placements: list[tuple[int, dict[str, Any]]] = []
    # (programs are fetched as prompts need them; the near-copy index needs all)
    for candidate in store.each_candidate(lean=not task.search.novelty):
        placement = strategy.tell(population.add(candidate), population)
        if candidate.id in unplaced:
            placements.append((candidate.id, placement.as_json()))
    return Restored(population, strategy, placements)


def _told(
    population: Population, strategy: Strategy, candidates: Iterable[Candidate]
) -> list[tuple[int, dict[str, Any]]]:
    return [(c.id, strategy.tell(population.add(c), population).as_json()) for c in candidates]


def _load(store: Store, task: Task) -> tuple[Population, Strategy, Mark] | None:
    """The snapshot when it matches the store, else None (it is then left as it is: the
    run's next snapshot replaces it)."""
    path = store.path.parent / FILE
    try:
        with path.open("rb") as handle:
            head, mark, population, strategy = _Unpickler(handle, store).load()
    except FileNotFoundError:
        return None
    except Exception:  # (damaged, cut short, another hone's: the run is read whole)
        return None
    if (
        head != _head(store, task)
        or not isinstance(population, Population)
        or not isinstance(mark, Mark)
    ):
        return None
    row = store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(MAX(placed), 0) FROM candidates "
        "WHERE placed <= ?",
        (mark.placed,),
    ).fetchone()
    if (int(row[0]), int(row[1]), int(row[2])) != (mark.count, mark.ids, mark.placed):
        return None
    if len(population) != mark.count:
        return None
    return population, strategy, mark


def _head(store: Store, task: Task) -> dict[str, Any]:
    """What a snapshot is written under: its format, the run's settings, the store's birth."""
    return {"format": _FORMAT, "fingerprint": fingerprint(task), "created": store.meta().created}
