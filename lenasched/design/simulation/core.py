"""The vectorised run: every patient through the drug's planned doses, on the engine's transitions.

Between two events a patient's doses are fixed by its state, so the run touches every patient only
where the plan itself changes (a new phase, course, planned dose or escalation step) and otherwise
only the few patients with something happening on a day (an event, a resumption, an escalation
catching up). Events come from **waiting-time draws**: at each (re)start a patient draws one
exponential threshold and the event falls on the first dose at which the cumulative hazard of the
doses taken since reaches it (the same distribution as one Bernoulli draw per dose day, with one
draw per event instead).

``run_block`` hands plans of one course where every event lowers the dose to
``by_event.run_events`` (the same results, about twice as fast); this module runs everything else
and is the reference the other is tested against (``tests/test_simulate_runners.py``).

The dose rules are the engine's (``engine.transitions`` and the fold of ``engine.apply``): the planned
step climbed at most one level per given dose, capped by the ceiling a reduction set; a reduction
goes one level below the last dose of the phase, belongs to the phase it is dated in, and below the
lowest level stops the drug; a resumption "at the starting dose" pins it; a resumption "at the same
dose" pauses day-counted escalation for the held days. An event is a hold from the next day and a
resumption ``recovery_days`` later: ``Hold`` + ``Resume`` in ``expand``, or the two lab results that
fire and recover the protocol's rule, whose ``resume_at`` / ``then_resume_at`` say at which level.

How the work stays proportional to the events (``docs/simulation.md``, "How it runs"):

- Doses are **codes**: 1..G index the plan's sorted dose levels (0: none), so a patient's dose, its
  reduction ceiling and its last dose are one byte each, and the transitions are evaluated once per
  course into small tables on codes (``_Course``) instead of once per patient.
- A patient's hot state is one 16-byte **record**, gathered and scattered whole at each event or
  resumption: one memory access where one array per field would cost one each.
- Pending events wait in ``event_at`` (one narrow array); a cycle window takes its own in one scan,
  sorted by dose, and each day's group is a slice. Resumptions wait in a dict by dose, each with
  the dose of the event that follows it, drawn at the event in one pass with the event's kind (the
  patient's next two draws: the same numbers as drawing the second at the resumption). Where an
  exponential threshold lands is found in a bucket table (``_Search``), not by a binary search.
- Patients who **stopped** are swapped behind the live ones at a window's end (most patients stop
  within the horizon at the published rates), so the passes over every patient (a window's start
  and tally, a plan change) cover only the first ``m`` positions; results go back in patient order.
  A window adds the per-level cycle counters of a patient with one lookup (bit fields of a word).
- Doses are **credited eagerly**: when a patient's dose changes on dose ``j`` of a window, the
  window's running total gets the new dose for the rest of the window (and loses the old one), so
  a patient whose dose does not change costs nothing until the window's end; the per-cycle counts
  that change only at events (reached the cap, stopped) are running counters.
- The order in which a day's patients are processed never changes a patient's result, and every
  patient keeps its draw numbers, so each patient's numbers are those of every earlier version.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lenasched.design.simulation.params import Model
from lenasched.design.simulation.plan import UNITS_PER_MG, DrugPlan
from lenasched.design.simulation.stats import Tally
from lenasched.design.simulation.streams import PatientStreams
from lenasched.engine.transitions import NO_LEVEL, capped, climb, lowered
from lenasched.errors import SimulationError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Block", "run_block"]

_NO_CEILING = 2**62
_NEVER = 2**15 - 1  # int16 "never" (study days are below 2**13)
_LOWER, _SAME, _START = 0, 1, 2
_LEVEL = {"lower": _LOWER, "same": _SAME, "start": _START}
# Packed per-patient total: grid units << 30 | capsules << 13 | dosing days; checked to fit below.
_UNIT_SHIFT, _CAPS_SHIFT = 30, 13
#: Compact the live patients once at least 1/_COMPACT_EVERY of their positions hold stopped ones.
_COMPACT_EVERY = 8
_MAX_HAZARD = 1e6  # p = 1: certain on the first dose at risk (finite, so cumulative sums stay ordered)


@dataclass
class Block:
    """One block of patients: per-patient integers kept for the result, and their exact tally."""

    first: int
    units: Any  # delivered dose units per patient
    events: Any
    stopped: Any  # bool
    tally: Tally
    daily: Any | None  # (n, lead + horizon) dose units per day, when asked


def _hazards(plan: DrugPlan, model: Model) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per dose: the cumulative total hazard; per window: the cumulative shares of each event kind."""
    import numpy as np

    kinds = len(model.kinds)
    per_window = np.zeros((len(plan.windows), max(kinds, 1)), dtype=np.float64)
    for w, window in enumerate(plan.windows):
        n = window.full_dosing_days
        if not n:
            continue
        for k, kind in enumerate(model.kinds):
            p = kind.rate.at(max(window.index, 0))
            per_window[w, k] = _MAX_HAZARD if p >= 1 else -math.log1p(-p) / n
    total = per_window.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    shares = np.where(total[:, None] > 0, np.cumsum(per_window, axis=1) / safe[:, None], 1.0)
    per_dose = total[plan.window] if plan.n_doses else np.zeros(0)
    return np.cumsum(per_dose), shares


class _Search:
    """``before(t)`` = ``numpy.searchsorted(hazard, t, side="left")`` (how many doses' cumulative hazard is below t).

    A bucket table: ``bucket(x) = int(x * scale)`` (the same float operations for the doses and the
    queries) is nondecreasing, so the doses below ``t`` are those in lower buckets plus, in ``t``'s
    bucket, the dose there (the scale is chosen so no bucket holds two different values; equal
    values count together) if it is below ``t``. Exact, without a binary search; plain
    ``searchsorted`` when no small table separates the doses.
    """

    def __init__(self, hazard: NDArray[np.float64]) -> None:
        import numpy as np

        self.hazard = hazard
        self.table: NDArray[np.int64] | None = None
        steps = np.diff(hazard, prepend=0.0)
        positive = steps[steps > 0]
        if not len(positive) or not np.isfinite(hazard[-1]):
            return
        scale = 2.0 / float(positive.min())
        for _ in range(4):
            size = float(hazard[-1]) * scale
            if size >= 2**20:
                return
            buckets = (hazard * scale).astype(np.int64)
            if not (np.diff(buckets) == 0)[np.diff(hazard) > 0].any() and (buckets[1:] >= buckets[:-1]).all():
                # no two distinct doses share a bucket (equal values may: they count together)
                break
            scale *= 2
        else:
            return
        last = int(buckets[-1]) + 1
        self.scale = scale
        self.last = last
        self.table = np.searchsorted(buckets, np.arange(last + 1), side="left")  # doses in lower buckets
        self.padded = np.concatenate((hazard, [np.inf]))
        counts = np.diff(self.table, append=len(hazard))  # doses in each bucket (equal values, if several)
        self.counts = counts if counts.max() > 1 else None

    def landing(self, u: NDArray[np.float64], j0: Any) -> NDArray[np.int64]:
        """The dose of the next event from dose ``j0`` on (an int, or one per uniform), for uniforms
        ``u`` (spent: overwritten): the first dose at which the cumulative hazard since ``j0``
        reaches ``-log(u)``."""
        import numpy as np

        if isinstance(j0, int):
            base: Any = self.hazard[j0 - 1] if j0 > 0 else 0.0
        else:
            base = self.hazard.take(j0 - 1)  # (every j0 >= 1: a resumption follows an event)
        np.log(u, out=u)
        np.subtract(base, u, out=u)
        at = self.before(u)
        np.maximum(at, j0, out=at)
        return at

    def before(self, t: NDArray[np.float64]) -> NDArray[np.int64]:
        import numpy as np

        if self.table is None:
            return np.searchsorted(self.hazard, t, side="left")
        x = t * self.scale
        np.minimum(x, self.last, out=x)  # (beyond the last bucket: after every dose)
        b = x.astype(np.int64)
        i = self.table.take(b)
        if self.counts is None:
            i += self.padded.take(i) < t
        else:
            i += (self.padded.take(i) < t) * self.counts.take(b)
        return i


@dataclass(frozen=True)
class _Course:
    """One course's transitions on dose codes, evaluated once for every state into small tables.

    ``dose[index * stride + ceiling]`` is the code given at planned ladder ``index`` under the
    ``ceiling`` code (``capped``); ``by_step`` the same by escalation step; ``down[code]`` the
    ceiling one level below a dose (``lowered``; 0: none, the drug stops).
    """

    escalates: bool
    change_days: Any
    dose: Any
    by_step: Any
    down: Any
    start_code: int  # the code of the drug's starting dose on this course (0: not on it)


def _course(
    ladder: NDArray[np.int64],
    steps: NDArray[np.int64],
    escalates: bool,
    change_days: Any,
    start_index: int,
    units: list[int],
) -> _Course:
    import numpy as np

    code = np.array([units.index(u) + 1 for u in ladder.tolist()], dtype=np.uint8)
    by_units = np.array([0, *units, _NO_CEILING], dtype=np.int64)  # code -> units (G + 1: no ceiling)
    level = np.searchsorted(ladder, by_units, side="right") - 1  # code -> ladder index, as the engine's bisect
    index = np.arange(len(ladder))
    # (an index of -1 is the top, as numpy indexing gives: states no patient reaches, kept as before)
    dose: NDArray[np.uint8] = np.asarray(code.take(capped(index[:, None], level[None, :], np.minimum), mode="wrap"))
    below = lowered(level)
    down = np.where(below == NO_LEVEL, 0, code.take(below, mode="wrap")).astype(np.uint8)
    return _Course(
        escalates=escalates,
        change_days=change_days,
        dose=dose.ravel(),
        by_step=dose[steps].ravel(),
        down=down,
        start_code=int(code[start_index]) if start_index >= 0 else 0,
    )


#: One patient's hot state, 16 bytes: gathered and scattered whole at each event or resumption
#: (one memory access instead of one per field). Dose fields are codes (see the module docstring).
_RECORD_FIELDS = (
    ("cur", "u1"),  # dose of the current day (0: none given)
    ("flags", "u1"),  # _ACTIVE | _ON | _PINNED | _REDUCED (cur and flags are one 16-bit word)
    ("ceiling", "u1"),  # the ceiling a reduction set (G + 1: none)
    ("last", "u1"),  # last dose given in the phase (0: none)
    ("step", "i1"),  # escalation step last given, of the first escalating course
    ("plevel", "i1"),  # the pending resumption's level
    ("pphase", "i1"),  # the phase the pending resumption is dated in
    ("phase", "i1"),  # the phase of the last dose considered (-2: none yet)
    ("events", "<i2"),
    ("last_event", "<i2"),  # study day of the last event
    ("target", "<i2"),  # study day of the first dose at the cap (_NEVER: not yet)
    ("draws", "<u2"),  # random numbers drawn so far
)
_ACTIVE, _ON, _PINNED, _REDUCED = 1, 2, 4, 8
_EVENT, _HELD = 1, 2
_NOT_ACTIVE, _NOT_PINNED, _STOP_MASK = 0xFF ^ _ACTIVE, 0xFF ^ _PINNED, 0xFF ^ (_ACTIVE | _ON)
_HOLD_WORD = _NOT_ACTIVE << 8  # the (cur, flags) word of a patient put on hold: no dose, not active


def run_block(
    plan: DrugPlan,
    model: Model,
    streams: PatientStreams,
    first: int,
    n: int,
    *,
    keep_daily: bool = False,
    forced: Sequence[int] | Mapping[int, str] | None = None,
    progress: Callable[[float], None] | None = None,
    by_event: bool | None = None,
) -> Block:
    """Simulate patients ``first`` .. ``first + n - 1`` (each on its own stream) on ``plan`` under ``model``.

    ``forced`` replaces the draws: an event on the dose of each of these offsets (0-based study days;
    a mapping names each one's event kind) for every patient taking a dose that day. ``progress`` is
    called with the share of the block done (0-1) after each cycle window. ``by_event``: None picks
    the runner (``by_event.run_events`` where it applies), False forces the dose-by-dose one, True
    the event-by-event one (an error where it does not apply); both give the same results.
    """
    import numpy as np

    J = plan.n_doses
    day = plan.day
    days_total = plan.lead_days + plan.horizon_days
    recovery = model.recovery_days
    kinds = model.kinds
    K = len(kinds)
    top_units = max(int(c.ladder.max()) for c in plan.courses.values())
    top_caps = max(int(c.capsules.max()) for c in plan.courses.values())
    if days_total >= 2**_CAPS_SHIFT or (top_caps + 1) * days_total >= 2 ** (_UNIT_SHIFT - _CAPS_SHIFT):
        raise SimulationError(f"a horizon of {plan.horizon_days} days is too long to simulate")
    if top_units * days_total >= 2 ** (62 - _UNIT_SHIFT):
        raise SimulationError("doses this large over this horizon cannot be counted exactly")
    grid = plan.grid
    windows = plan.windows
    W = len(windows)

    # --- dose codes: 1..G are the plan's levels, lowest first; 0 is "no dose" ---
    units_g = [int(x * UNITS_PER_MG) for x in plan.ladder]
    G = len(units_g)
    if G + 2 >= 2**8 or len(plan.phase_names) >= 2**7 or any(len(c.steps) >= 2**7 for c in plan.courses.values()):
        raise SimulationError("too many dose levels, escalation steps or phases to simulate (at most 120 each)")
    none_ceiling = G + 1
    caps_of: dict[int, int] = {}
    for c in plan.courses.values():
        for u, k in zip(c.ladder.tolist(), c.capsules.tolist(), strict=True):
            caps_of[u] = k
    packed_of = np.zeros(G + 1, dtype=np.int64)
    units_of = np.zeros(G + 1, dtype=np.int64)
    for code, u in enumerate(units_g, start=1):
        packed_of[code] = ((u // grid) << _UNIT_SHIFT) | (caps_of[u] << _CAPS_SHIFT) | 1
        units_of[code] = u
    cap_units = int(plan.cap * UNITS_PER_MG)
    cap_code = units_g.index(cap_units) + 1 if cap_units in units_g else none_ceiling
    courses = {
        key: _course(c.ladder, c.steps, c.escalates, c.change_days, c.start_index, units_g)
        for key, c in plan.courses.items()
    }
    stride = G + 2  # ceiling codes: 0..G + 1

    # --- the model's resumption rules, and which state they need ---
    resume_at = np.array([_LEVEL[k.resume_at] for k in kinds] or [0], dtype=np.int8)
    then_at = np.array([_LEVEL[k.then_resume_at] for k in kinds] or [0], dtype=np.int8)
    used_levels = set(resume_at.tolist()) | set(then_at.tolist())
    uniform = int(resume_at[0]) if len(used_levels) == 1 else None  # the same level after every event
    first_drop = bool((resume_at != then_at).any())
    has_start = _START in used_levels
    can_same = has_start or _SAME in used_levels  # "start" after a reduction is "same"
    hazard, shares = _hazards(plan, model)
    search = _Search(hazard)
    no_events = K == 0 or not J or hazard[-1] <= 0
    starts_off = [s for s, _ in plan.phase_starts]
    starts_phase = [p for _, p in plan.phase_starts]
    multi_phase = J > 0 and len(set(plan.phase.tolist())) > 1
    forced_next: NDArray[np.int64] | None = None
    forced_kind: NDArray[np.int64] | None = None
    if forced is not None:
        names = {k.name: i for i, k in enumerate(kinds)}
        wanted: dict[int, str | None] = dict(forced) if isinstance(forced, Mapping) else dict.fromkeys(forced)
        forced_next = np.full(J + 1, J, dtype=np.int64)
        forced_kind = np.zeros(J + 1, dtype=np.int64)
        for j in range(J - 1, -1, -1):
            forced_next[j] = j if int(day[j]) in wanted else forced_next[j + 1]
            name = wanted.get(int(day[j]))
            if name is not None:
                if name not in names:
                    raise SimulationError(f"no event kind named {name!r}")
                forced_kind[j] = names[name]

    # --- the plan, dose by dose, as Python values ---
    day_l = day.tolist()
    course_l = plan.course.tolist()
    planned_l = plan.planned.tolist()
    due_l = plan.due.tolist()
    phase_l = plan.phase.tolist()
    course_day_l = plan.course_day.tolist()
    changes = [True] + [
        (course_l[j], planned_l[j], due_l[j], phase_l[j])
        != (course_l[j - 1], planned_l[j - 1], due_l[j - 1], phase_l[j - 1])
        for j in range(1, J)
    ]
    dosing = [w.end_dose > w.first_dose for w in windows]
    dose_prefix = np.zeros(W + 1, dtype=np.int16)  # dosing windows before each window
    np.cumsum(dosing, out=dose_prefix[1:])
    day_counted = [k for k, c in plan.courses.items() if len(c.change_days)]
    first_offset = {k: plan.courses[k].first_offset for k in day_counted}
    escalating = [k for k, c in plan.courses.items() if c.escalates]
    record_step = escalating[0] if escalating else None  # its step lives in the record

    # per patient, the cycles whose highest dose was each level: ``level_bits``-bit counters packed in
    # words, so a window adds them all with one table lookup per word
    level_bits = _level_bits(W)
    per_word = 64 // level_bits
    level_add = np.zeros(((max(G, 1) + per_word - 1) // per_word, G + 2), dtype=np.uint64)  # by window_top code
    for code in range(1, G + 1):
        level_add[(code - 1) // per_word, code] = 1 << (level_bits * ((code - 1) % per_word))

    if by_event is not False and forced is None and not keep_daily and uniform == _LOWER and len(courses) == 1:
        # (one course, so one phase; every event lowers the dose: the event-by-event runner)
        from lenasched.design.simulation.by_event import Tables, dose_codes, run_events

        course = next(iter(courses.values()))
        got = dose_codes(plan, course, stride) if J else None
        ran = None
        if got is not None:
            tables = Tables(
                course=course,
                codes=got[0],
                free=got[1],
                packed_of=packed_of,
                cap_code=cap_code,
                none_ceiling=none_ceiling,
                kinds=K,
                recovery_days=recovery,
                search=search,
                shares=shares,
                no_events=no_events,
                level_add=level_add,
                never=_NEVER,
                unit_shift=_UNIT_SHIFT,
            )
            ran = run_events(plan, streams, first, n, tables, progress)
        if ran is not None:
            out, done = ran
            units, events, stopped_out = _finish(
                out,
                plan,
                kind_events=done["kind_events"],
                tally=done["tally"],
                events=done["events"],
                active=done["active"],
                on=done["on"],
                last_event=done["last_event"],
                target=done["target"],
                stop_window=done["stop_window"],
                at_level=done["at_level"],
                dose_prefix=dose_prefix,
            )
            units, events, stopped_out = (_unmoved(a, done["pid"]) for a in (units, events, stopped_out))
            return Block(first=first, units=units, events=events, stopped=stopped_out, tally=out, daily=None)
    if by_event:
        raise SimulationError("the event-by-event runner does not apply to this plan or model")

    # --- per-patient state: the record, and preallocated arrays in narrow dtypes ---
    record = np.dtype([(name, np.dtype(code)) for name, code in _RECORD_FIELDS])
    R = np.zeros(n, dtype=np.dtype((np.void, record.itemsize)))
    F = R.view(record)  # the fields, as strided views of R
    words = R.view(np.dtype("<u2"))[:: record.itemsize // 2]  # cur | flags << 8
    heads = R.view(np.dtype("<u8"))[:: record.itemsize // 8]  # the first eight bytes of each record
    F["ceiling"] = none_ceiling
    F["step"] = -1
    F["flags"] = _ACTIVE | _ON
    F["phase"] = -2
    F["target"] = _NEVER
    keys = streams.keys(np.arange(first, first + n, dtype=np.int64))
    window_units = np.zeros(n, dtype=np.int64)  # packed total of the running window
    tally = np.zeros(n, dtype=np.int64)  # packed total of the finished windows
    steps = {k: np.full(n, -1, dtype=np.int8) for k in escalating[1:]}
    paused = {k: np.zeros(n, dtype=np.int32) for k in day_counted} if can_same else {}
    drops = np.zeros((max(K, 1), n), dtype=np.int16) if first_drop else None
    stop_window = np.full(n, W - 1, dtype=np.int16)
    window_mark = np.zeros(n, dtype=np.uint8)  # _EVENT | _HELD: had an event, was held, in the window
    window_top = np.zeros(n, dtype=np.uint8)
    at_level = np.zeros((len(level_add), n), dtype=np.uint64)
    mark = np.zeros(n, dtype=bool)
    daily = np.zeros((n, days_total), dtype=np.int64) if keep_daily else None
    empty = np.zeros(0, dtype=np.int64)
    kind_events = [0] * max(K, 1)
    out = Tally(n=n)
    counters = {"reached": 0, "stopped": 0}

    # Pending events and resumptions, by dose. Each patient's next event is ``event_at`` (J: none);
    # a window takes those due inside it with one scan, sorted by dose, and each dose's group is a
    # slice of that array (draws that land inside the running window add a small sorted group of
    # their own). ``due_resumes`` holds every resumption by its dose, with the dose of the event
    # that follows it (drawn with the event's own draw: one pass for both; unused if the drug stops).
    event_at = np.full(n, J, dtype=np.int16)
    due_resumes: dict[int, list[tuple[NDArray[np.int64], NDArray[np.int64]]]] = {}
    queue: dict[str, Any] = {"first": 0, "end": 0, "groups": []}  # the window's: (patients by dose, bounds)
    resume_dose = np.searchsorted(day, day + 1 + recovery, side="left").tolist()  # by the event's dose
    # When every resumption is one level below the last dose of a single phase, whether it stops the
    # drug is known at the event: those patients wait in ``due_stops`` and stop on that dose, with no
    # dose to work out (as ``resume`` would stop them: nothing else of theirs changes meanwhile).
    stops_known = uniform == _LOWER and not multi_phase and not has_start
    due_stops: dict[int, list[NDArray[np.int64]]] = {}

    def take(j: int) -> tuple[NDArray[np.int64] | None, NDArray[np.int64]]:
        """The patients resuming on dose ``j`` (None: none) and the doses of their next events."""
        got = due_resumes.pop(j, None)
        if not got:
            return None, empty
        if len(got) == 1:
            return got[0]
        return np.concatenate([who for who, _ in got]), np.concatenate([at for _, at in got])

    def put_events(who: NDArray[np.int64], at: NDArray[np.int64]) -> None:
        at16 = at.astype(np.int16)  # (J: none)
        event_at[who] = at16
        soon = at16 < queue["end"]
        if soon.any():
            who, at16 = who[soon], at16[soon]
            order = np.argsort(at16, kind="stable")
            doses = np.arange(queue["first"], queue["end"] + 1)
            queue["groups"].append((who[order], np.searchsorted(at16[order], doses, side="left").tolist()))

    def open_window(first_dose: int, end: int) -> None:
        """The events due in the window starting now (an event taken earlier lies before it)."""
        at = event_at[:m] - first_dose
        due = np.flatnonzero(at.view(np.uint16) < end - first_dose)
        at = at[due]
        order = np.argsort(at, kind="stable")  # a radix sort: doses are below 2**13
        bounds = np.searchsorted(at[order], np.arange(end - first_dose + 1), side="left").tolist()
        queue["groups"] = [(due[order], bounds)]
        queue["first"], queue["end"] = first_dose, end

    def take_events(j: int) -> NDArray[np.int64] | None:
        """The patients whose event falls on dose ``j``: a slice of each of the window's sorted groups."""
        k = j - queue["first"]
        got = [who[bounds[k] : bounds[k + 1]] for who, bounds in queue["groups"] if bounds[k + 1] > bounds[k]]
        if not got:
            return None
        return got[0] if len(got) == 1 else np.concatenate(got)

    landing = search.landing

    def schedule(who: NDArray[np.int64], draws: Any, j0: int) -> None:
        """Draw the next event of patients ``who`` (``draws``: their draw counters) from dose ``j0`` on."""
        if not len(who) or j0 >= J:
            return
        if forced_next is not None:
            at = np.full(len(who), forced_next[j0], dtype=np.int64)
        elif no_events:
            return
        else:
            at = landing(streams.uniform_from(keys[who], draws), j0)
            draws += 1
        put_events(who, at)

    def resume(f: Any, rows: NDArray[np.int64], base: Any, course: _Course, phase: int) -> Any:
        """The resumptions of patients ``rows`` (records ``f``; ``base``: their row of the dose table).

        One level lower sets the ceiling, or stops the drug (those are returned, as positions in
        ``rows``); one at the starting dose pins it.
        """
        stopped: Any = None
        level: Any = f["plevel"] if uniform is None else uniform
        lower: Any
        if uniform is not None and not multi_phase:
            lower = slice(None) if uniform == _LOWER else None
        else:
            mask = level == _LOWER
            if multi_phase:
                mask &= f["pphase"] == phase
            lower = np.flatnonzero(mask)
        if lower is not None:
            reference = f["last"][lower]
            if len(reference):
                if multi_phase or has_start:  # (else every resumed patient has a last dose in its phase)
                    table = course.by_step if course.escalates else course.dose
                    planned = table.take((base[lower] if course.escalates else base) + f["ceiling"][lower], mode="wrap")
                    reference = np.where(reference != 0, reference, planned)
                ceil = course.down.take(reference, mode="wrap")
                stop = np.flatnonzero(ceil == 0)  # (few: index arrays, not masks)
                if len(stop):
                    stopped = stop if isinstance(lower, slice) else lower[stop]
                    f["flags"][stopped] &= _STOP_MASK
                    gone = rows[stopped]
                    stop_window[gone] = w_now
                    counters["stopped"] += len(gone)
                    just_stopped.append(gone)
                    ceil[stop] = none_ceiling  # (a stopped patient's state no longer matters)
                f["ceiling"][lower] = ceil
                if has_start:
                    f["flags"][lower] &= _NOT_PINNED
        if has_start:
            start = level == _START
            if start.any():
                f["flags"][start] |= _PINNED
        return stopped

    def give(idx: NDArray[np.int64], g: Any, resumed: int, j: int, end: int) -> NDArray[np.int64]:
        """Dose ``j`` for patients ``idx`` (records ``g``, the first ``resumed`` of them resumed now).

        By the engine's fold: climb, resume, cap. Returns the patients whose dose may change at
        the next dose (climbing one step a dose, paused).
        """
        key = course_l[j]
        course = courses[key]
        phase = phase_l[j]
        f = g.view(record)
        if multi_phase:
            seen = f["phase"]
            entering = (seen != phase) & (seen != -2)  # enter_phase: a reduction belongs to its phase
            if entering.any():
                f["ceiling"][entering] = none_ceiling
                f["flags"][entering] &= _NOT_PINNED
                f["last"][entering] = 0
            f["phase"] = phase
        due: Any = None
        step: Any = None
        if course.escalates:
            due = due_l[j]
            if key in paused:
                shift = paused[key][idx]
                moved = shift > 0
                if moved.any():
                    due = np.full(len(idx), due, dtype=np.int64)
                    due[moved] = np.searchsorted(course.change_days, course_day_l[j] - shift[moved], side="right")
            if key == record_step:
                step = climb(due, f["step"], np.minimum)
                f["step"] = step
            else:
                step = climb(due, steps[key][idx], np.minimum)
                steps[key][idx] = step
            base: Any = step.astype(np.intp) * stride
            table = course.by_step
        else:
            base = planned_l[j] * stride
            table = course.dose
        stopped = None
        if resumed:
            stopped = resume(f[:resumed], idx[:resumed], base[:resumed] if course.escalates else base, course, phase)
        new = table.take(base + f["ceiling"], mode="wrap")
        if course.start_code and has_start:
            new = np.where(f["flags"] & _PINNED, course.start_code, new).astype(np.uint8)
        if stopped is not None:
            new[stopped] = 0
        credit = packed_of * (end - j)
        gained = credit.take(new, mode="wrap")
        if len(idx) > resumed:  # (a resumed patient had no dose)
            gained -= credit.take(f["cur"], mode="wrap")
        window_units[idx] += gained
        f["cur"] = new
        f["last"] = new
        window_top[idx] = np.maximum(window_top[idx], new)
        if cap_code <= new.max():
            hit = np.flatnonzero((new == cap_code) & (f["target"] == _NEVER))
            if len(hit):
                f["target"][hit] = day_l[j]
                counters["reached"] += len(hit)
        if step is None:
            return empty
        lag = step < due
        if key in paused:
            lag |= paused[key][idx] > 0
        if stopped is not None:
            lag[stopped] = False
        watched: NDArray[np.int64] = idx[lag]
        return watched

    def give_all(j: int, end: int, resumed: NDArray[np.int64] | None) -> NDArray[np.int64]:
        """``give`` to every active patient (the plan changed), on whole arrays.

        The records' first eight bytes (dose, flags, ceiling, last dose, step, phase) are copied out
        in one pass, worked on, and written back in one pass.
        """
        key = course_l[j]
        course = courses[key]
        phase = phase_l[j]
        H = heads[:m].copy()
        hb = H.view(np.uint8).reshape(m, 8)
        cur, flags, ceiling, last = hb[:, 0], hb[:, 1], hb[:, 2], hb[:, 3]
        active = (flags & _ACTIVE).view(bool)  # (0 or 1: a bool's bytes)
        if multi_phase:
            seen = hb[:, 7].view(np.int8)
            entering = active & (seen != phase) & (seen != -2)
            if entering.any():
                ceiling[entering] = none_ceiling
                flags[entering] &= _NOT_PINNED
                last[entering] = 0
            np.copyto(seen, phase, where=active)
        due: Any = None
        step: Any = None
        if course.escalates:
            due = due_l[j]
            if key in paused:
                moved = active & (paused[key][:m] > 0)
                if moved.any():
                    due = np.full(m, due, dtype=np.int64)
                    due[moved] = np.searchsorted(
                        course.change_days, course_day_l[j] - paused[key][:m][moved], side="right"
                    )
            mine = hb[:, 4].view(np.int8) if key == record_step else steps[key][:m]
            step = climb(due, mine, np.minimum)
            np.copyto(mine, step, where=active, casting="unsafe")
            base: Any = step.astype(np.int16)  # (steps and codes are below 2**7: a row fits in 15 bits)
            base *= stride
            table = course.by_step
        else:
            base = planned_l[j] * stride
            table = course.dose
        if resumed is not None:
            heads[resumed] = H[resumed]
            g = R[resumed]
            stopped = resume(g.view(record), resumed, base[resumed] if course.escalates else base, course, phase)
            R[resumed] = g
            H[resumed] = heads[resumed]
            if stopped is not None:
                active[resumed[stopped]] = False
        new = table.take(np.add(base, ceiling, dtype=np.int16), mode="wrap")
        if course.start_code and has_start:
            new = np.where(flags & _PINNED, course.start_code, new).astype(np.uint8)
        credit = packed_of * (end - j)
        gained = credit.take(new, mode="wrap")
        gained -= credit.take(cur, mode="wrap")
        live_units, live_top = window_units[:m], window_top[:m]
        np.add(live_units, gained, out=live_units, where=active)
        np.copyto(cur, new, where=active)
        np.copyto(last, new, where=active)
        np.copyto(heads[:m], H)
        np.maximum(live_top, new, out=live_top, where=active)
        if m and cap_code <= new.max():
            hit = np.flatnonzero((new == cap_code) & active)
            hit = hit[F["target"][hit] == _NEVER]
            if len(hit):
                F["target"][hit] = day_l[j]
                counters["reached"] += len(hit)
        if step is None:
            return empty
        lag = step < due
        if key in paused:
            lag |= paused[key][:m] > 0
        lag &= active
        return np.flatnonzero(lag)

    # Patients who stopped are moved behind the live ones (``m``: how many may still take a dose), so
    # the passes over every patient (each window's start and tally, a plan change) shrink as they stop.
    m = n
    order_of: NDArray[np.int64] | None = None  # the patient at each position, once moved

    watch = empty  # patients whose dose may change at the next dose (climbing one step a dose, paused)
    just_stopped: list[NDArray[np.int64]] = []  # positions stopped since the last compaction
    holes_left = empty  # stopped positions before the live count that no one filled yet

    def compact() -> int:
        """Fill the stopped positions among the first ``n - stopped`` with live patients from behind
        them; the new ``m``. A held patient stays where it is (its pending resumption names it)."""
        nonlocal order_of, watch, holes_left
        live = n - counters["stopped"]
        gone = np.concatenate([holes_left, *just_stopped])
        just_stopped.clear()
        holes = np.sort(gone[gone < live])
        flags = F["flags"][live:m]
        movers = live + np.flatnonzero(flags & _ACTIVE)  # (live patients are at most as many as the holes)
        held = np.flatnonzero((flags & (_ACTIVE | _ON)) == _ON)
        holes, holes_left = holes[: len(movers)], holes[len(movers) :]
        if len(movers):
            if order_of is None:
                order_of = np.arange(n, dtype=np.int64)
            one_d = [R, keys, tally, stop_window, event_at, order_of, *steps.values(), *paused.values()]
            if daily is not None:
                one_d.append(daily)
            for a in one_d:
                a[holes], a[movers] = a[movers], a[holes]
            for a in (at_level, drops) if drops is not None else (at_level,):
                a[:, holes], a[:, movers] = a[:, movers], a[:, holes]
            at = np.minimum(np.searchsorted(movers, watch), len(movers) - 1)
            watch = np.where(movers[at] == watch, holes[at], watch)
        return max(live, live + int(held[-1]) + 1 if len(held) else 0)

    w_now = 0
    schedule(np.arange(n, dtype=np.int64), F["draws"], 0)
    for w, window in enumerate(windows):
        w_now = w
        first_dose, end = window.first_dose, window.end_dose
        if first_dose < end:  # (the marks are set at its first dose)
            open_window(first_dose, end)
        else:
            window_mark[:m].fill(0)
            window_top[:m].fill(0)
            window_units[:m].fill(0)
        for j in range(first_dose, end):
            ending = due_stops.pop(j, None)
            if ending is not None:
                gone = ending[0] if len(ending) == 1 else np.concatenate(ending)
                F["flags"][gone] &= _STOP_MASK
                stop_window[gone] = w_now
                counters["stopped"] += len(gone)
                just_stopped.append(gone)
            resumed, next_at = take(j)
            if changes[j]:
                if resumed is not None:
                    F["flags"][resumed] |= _ACTIVE
                watch = give_all(j, end, resumed)
                if resumed is not None:
                    back = np.flatnonzero(F["flags"][resumed] & _ON)
                    put_events(resumed[back], next_at[back])
            else:
                nres = 0
                if resumed is None:
                    idx = watch
                    g = R[idx]
                else:
                    nres = len(resumed)
                    if len(watch):
                        mark[resumed] = True
                        watch = watch[~mark[watch]]
                        mark[resumed] = False
                    idx = np.concatenate((resumed, watch)) if len(watch) else resumed
                    g = R[idx]
                    g.view(record)["flags"][:nres] |= _ACTIVE
                if len(idx) > nres:  # the watched patients still taking the drug
                    f = g.view(record)
                    keep = (f["flags"] & _ACTIVE) != 0
                    if not keep.all():
                        keep[:nres] = True
                        idx, g = idx[keep], g[keep]
                if len(idx):
                    watch = give(idx, g, nres, j, end)
                    if resumed is not None:
                        back = empty if stops_known else np.flatnonzero(g.view(record)["flags"][:nres] & _ON)
                        if stops_known or len(back) == nres:  # (stops_known: none of them stopped)
                            put_events(resumed, next_at)
                        else:
                            put_events(resumed[back], next_at[back])
                    R[idx] = g
                else:
                    watch = empty
            if j == first_dose:
                word = words[:m].copy()  # (cur, flags) of every live patient, in one pass
                np.copyto(window_top[:m], word, casting="unsafe")  # (the low byte: cur)
                np.take(packed_of * (end - first_dose), window_top[:m], out=window_units[:m], mode="wrap")
                word >>= 8
                word &= _ACTIVE | _ON
                np.multiply(word == _ON, np.uint8(_HELD), out=window_mark[:m])
            if daily is not None:
                daily[:, day_l[j] + plan.lead_days] = units_of.take(F["cur"], mode="wrap")
            ev = take_events(j)
            if ev is None:
                continue
            dj = day_l[j]
            r = resume_dose[j]
            g = R[ev]
            f = g.view(record)
            kind: Any
            next_u: Any = None  # the draw of the event after the resumption (at dose r)
            if forced_kind is not None:
                kind = np.full(len(ev), forced_kind[j], dtype=np.int64)
                kind_events[int(forced_kind[j])] += len(ev)
            elif K > 1:
                draws = f["draws"]
                if r < J:
                    u, next_u = streams.uniforms_from(keys[ev], draws, 2)
                    f["draws"] = draws + 2
                else:
                    u = streams.uniform_from(keys[ev], draws)
                    f["draws"] = draws + 1
                kind = np.searchsorted(shares[w], u)  # how many cumulative shares lie below u
                np.minimum(kind, K - 1, out=kind)
                for k_, count in enumerate(np.bincount(kind, minlength=K).tolist()):
                    kind_events[k_] += count
            else:
                kind = 0
                kind_events[0] += len(ev)
                if r < J and forced_next is None:
                    draws = f["draws"]
                    next_u = streams.uniform_from(keys[ev], draws)
                    f["draws"] = draws + 1
            f["events"] += 1
            f["last_event"] = dj
            if j + 1 < end and r > j + 1:
                window_mark[ev] = _EVENT | _HELD
            else:
                window_mark[ev] |= _EVENT
            back_on = dj + 1 + recovery
            level: Any = uniform
            if uniform is None:
                if drops is not None:
                    drops[kind, ev] += 1
                    level = np.where(drops[kind, ev] == 1, resume_at[kind], then_at[kind])
                else:
                    level = resume_at[kind] if not isinstance(kind, int) else np.full(len(ev), resume_at[0])
                if has_start:
                    flags = f["flags"]
                    level = np.where((level == _START) & ((flags & _REDUCED) != 0), _SAME, level)
                    f["flags"] = flags | np.where(level == _LOWER, _REDUCED, 0).astype(np.uint8)
                f["plevel"] = level
            if multi_phase:
                at = bisect_right(starts_off, back_on) - 1
                f["pphase"] = starts_phase[at] if at >= 0 else -1
            if paused:
                same = ev if uniform == _SAME else ev[level == _SAME] if uniform is None else empty
                if len(same):
                    for k in day_counted:
                        paused[k][same] += max(0, back_on - max(dj + 1, first_offset[k]))
            if end - j > 1:
                window_units[ev] -= (packed_of * (end - j - 1)).take(f["cur"], mode="wrap")
            g.view(np.dtype("<u2"))[:: record.itemsize // 2] &= _HOLD_WORD  # no dose, not active
            R[ev] = g
            if r < J:
                if stops_known:  # those whose resumption will stop the drug skip it
                    ends = courses[course_l[r]].down.take(f["last"], mode="wrap") == 0
                    if ends.any():
                        due_stops.setdefault(r, []).append(ev[ends])
                        back_on_drug = ~ends
                        ev = ev[back_on_drug]
                        if next_u is not None:
                            next_u = next_u[back_on_drug]
                if forced_next is not None:
                    next_at = np.full(len(ev), forced_next[r], dtype=np.int64)
                else:
                    next_at = landing(next_u, r)
                due_resumes.setdefault(r, []).append((ev, next_at))
        # --- the window's tally ---
        # (a patient behind the live ones got nothing in this window: a zero)
        live_units, live_top = window_units[:m], window_top[:m]
        tally[:m] += live_units
        live_units >>= _UNIT_SHIFT
        out.add_hist(f"cycle{w}.units", live_units, zeros=n - m)
        marks = window_mark[:m]
        out.count(f"cycle{w}.event", int(np.count_nonzero(marks & _EVENT)))
        out.count(f"cycle{w}.held", int(np.count_nonzero(marks & _HELD)))
        out.count(f"cycle{w}.at_cap", int(np.count_nonzero(live_top == cap_code)))
        out.count(f"cycle{w}.reached", counters["reached"])
        out.count(f"cycle{w}.stopped", counters["stopped"])
        if first_dose < end:  # this cycle counts at the level of its highest dose
            for word, add in zip(at_level, level_add, strict=True):
                word[:m] += add.take(live_top)
        if just_stopped and w + 1 < W and (m - n + counters["stopped"]) * _COMPACT_EVERY >= m:
            m = compact()  # (n - stopped patients are live: the others among the first m stopped)
        if progress is not None:
            progress((w + 1) / W)
    flags = F["flags"]
    units, events, stopped_out = _finish(
        out,
        plan,
        kind_events=kind_events,
        tally=tally,
        events=F["events"].copy(),
        active=(flags & _ACTIVE) != 0,
        on=(flags & _ON) != 0,
        last_event=F["last_event"],
        target=F["target"],
        stop_window=stop_window,
        at_level=at_level,
        dose_prefix=dose_prefix,
    )
    if order_of is not None:  # back in patient order
        units, events, stopped_out = (_unmoved(a, order_of) for a in (units, events, stopped_out))
        if daily is not None:
            daily = _unmoved(daily, order_of)
    return Block(first=first, units=units, events=events, stopped=stopped_out, tally=out, daily=daily)


def _finish(
    out: Tally,
    plan: DrugPlan,
    *,
    kind_events: list[int],
    tally: NDArray[np.int64],
    events: NDArray[np.int16],
    active: NDArray[np.bool_],
    on: NDArray[np.bool_],
    last_event: NDArray[np.int16],
    target: NDArray[np.int16],
    stop_window: NDArray[np.int16],
    at_level: NDArray[np.uint64],
    dose_prefix: NDArray[np.int16],
) -> tuple[NDArray[np.int64], NDArray[np.int16], NDArray[np.bool_]]:
    """The block's per-patient totals into ``out`` (both runners end here: these totals are counted one
    way); returns the delivered units, events and stopped flags, by position."""
    import numpy as np

    for k_, count in enumerate(kind_events):
        if count:
            out.count(f"kind{k_}.events", count)
    n = len(tally)
    J, W = plan.n_doses, len(plan.windows)
    grid_units = tally >> _UNIT_SHIFT
    first_day = int(plan.day[0]) if J else 0
    last_day = np.where(active, int(plan.day[-1]) if J else 0, last_event.astype(np.int64))
    out.add_hist("units", grid_units)
    out.add_hist("capsules", (tally >> _CAPS_SHIFT) & ((1 << (_UNIT_SHIFT - _CAPS_SHIFT)) - 1))
    out.add_hist("dosing_days", tally & ((1 << _CAPS_SHIFT) - 1))
    out.add_hist("events", events)
    out.add_hist("duration", last_day - first_day + 1)
    reached = target != _NEVER
    out.add_hist("target_day", target[reached].astype(np.int64) - first_day + 1)
    cycles_on = dose_prefix[stop_window.astype(np.int64) + 1].astype(np.int64) if W else np.zeros(n, dtype=np.int64)
    out.add_hist("visits", cycles_on + 2 * events.astype(np.int64) + plan.clinic_days)
    level_bits = _level_bits(W)
    per_word = 64 // level_bits
    for i in range(len(plan.ladder)):
        counter = at_level[i // per_word] >> np.uint64(level_bits * (i % per_word))
        counter &= np.uint64((1 << level_bits) - 1)
        out.add_hist(f"level{i}.cycles", counter)
    out.count("stopped", int((~on).sum()))
    out.count("with_event", int((events > 0).sum()))
    out.count("reached", int(reached.sum()))
    return grid_units * plan.grid, events, ~on


def _level_bits(windows: int) -> int:
    """Bits of one per-level cycle counter (counters of every level are packed in 64-bit words)."""
    return max(windows, 1).bit_length()


def _unmoved(a: Any, order_of: NDArray[np.int64]) -> Any:
    """``a`` (by position) by patient: position ``i`` holds patient ``order_of[i]``."""
    import numpy as np

    out = np.empty_like(a)
    out[order_of] = a
    return out
