"""The vectorised run: every patient through the drug's planned doses, on the engine's transitions.

Between two events a patient's doses are fixed by its state, so the run touches every patient only
where the plan itself changes (a new phase, course, planned dose or escalation step) and touches the
few patients with something happening on a day (an event, a resumption, an escalation catching up).
Events come from **waiting-time draws**: at each (re)start a patient draws one exponential threshold
and the event falls on the first dose at which the cumulative hazard of the doses taken since reaches
it (the same distribution as one Bernoulli draw per dose day, with one draw per event instead).
Patients waiting for an event or a resumption sit in per-dose buckets.

The dose rules are the engine's (``engine.transitions`` and the fold of ``engine.apply``): the planned
step climbed at most one level per given dose, capped by the ceiling a reduction set; a reduction
goes one level below the last dose of the phase, belongs to the phase it is dated in, and below the
lowest level stops the drug; a resumption "at the starting dose" pins it; a resumption "at the same
dose" pauses day-counted escalation for the held days. An event is a hold from the next day and a
resumption ``recovery_days`` later: ``Hold`` + ``Resume`` in ``expand``, or the two lab results that
fire and recover the protocol's rule, whose ``resume_at`` / ``then_resume_at`` say at which level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine.transitions import NO_LEVEL, capped, climb, lowered
from ..errors import SimulationError
from .params import Model
from .plan import DrugPlan
from .stats import Tally
from .streams import PatientStreams

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Block", "run_block"]

_NO_CEILING = 2**62
_NEVER = 2**31 - 1
_LOWER, _SAME, _START = 0, 1, 2
_LEVEL = {"lower": _LOWER, "same": _SAME, "start": _START}
# Packed per-day tally: units << 30 | capsules << 13 | 1 (a dosing day); checked to fit in build.
_UNIT_SHIFT, _CAPS_SHIFT = 30, 13
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


def run_block(
    plan: DrugPlan,
    model: Model,
    streams: PatientStreams,
    first: int,
    n: int,
    *,
    keep_daily: bool = False,
    forced: Sequence[int] | Mapping[int, str] | None = None,
) -> Block:
    """Simulate patients ``first`` .. ``first + n - 1`` (each on its own stream) on ``plan`` under ``model``.

    ``forced`` replaces the draws: an event on the dose of each of these offsets (0-based study days;
    a mapping names each one's event kind) for every patient taking a dose that day.
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
    cap_units = int(plan.cap * 10_000)
    grid = plan.grid
    levels = np.array([int(x * 10_000) for x in plan.ladder], dtype=np.int64)
    resume_at = np.array([_LEVEL[k.resume_at] for k in kinds] or [0], dtype=np.int8)
    then_at = np.array([_LEVEL[k.then_resume_at] for k in kinds] or [0], dtype=np.int8)
    hazard, shares = _hazards(plan, model)
    starts_off = np.array([s for s, _ in plan.phase_starts], dtype=np.int64)
    starts_phase = np.array([p for _, p in plan.phase_starts], dtype=np.int64)
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
    # --- per-patient state: preallocated, narrow dtypes ---
    draws = np.zeros(n, dtype=np.uint32)
    keys = streams.keys(np.arange(first, first + n, dtype=np.int64))
    on = np.ones(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    cur = np.zeros(n, dtype=np.int64)  # packed dose of the current day (0: none given)
    tally = np.zeros(n, dtype=np.int64)  # packed running total
    ceiling = np.full(n, _NO_CEILING, dtype=np.int64)
    pinned = np.zeros(n, dtype=bool)
    last_given = np.full(n, -1, dtype=np.int32)
    phase_of = np.full(n, -2, dtype=np.int16)
    course_keys = sorted(plan.courses)
    slot = {key: i for i, key in enumerate(course_keys)}
    steps = np.full((len(course_keys), n), -1, dtype=np.int16)
    day_counted = [k for k, c in plan.courses.items() if len(c.change_days)]
    paused = np.zeros((len(course_keys), n), dtype=np.int32) if day_counted else None
    drops = np.zeros((max(K, 1), n), dtype=np.int16)
    reduced = np.zeros(n, dtype=bool)
    pend_level = np.zeros(n, dtype=np.int8)
    pend_day = np.zeros(n, dtype=np.int32)
    events = np.zeros(n, dtype=np.int16)
    last_event = np.zeros(n, dtype=np.int32)
    target = np.full(n, _NEVER, dtype=np.int32)
    cycles_on = np.zeros(n, dtype=np.int16)
    at_level = np.zeros((len(levels), n), dtype=np.int16)
    window_start = np.zeros(n, dtype=np.int64)
    window_event = np.zeros(n, dtype=bool)
    window_held = np.zeros(n, dtype=bool)
    window_top = np.zeros(n, dtype=np.int32)
    scratch = np.zeros(n, dtype=np.int64)
    daily = np.zeros((n, days_total), dtype=np.int64) if keep_daily else None
    packed = {key: (c.ladder << _UNIT_SHIFT) | (c.capsules << _CAPS_SHIFT) | 1 for key, c in plan.courses.items()}
    # Pending events and resumptions: the dose each patient's next one falls on (J: none). Each
    # window takes the patients due inside it in one scan, sorted by dose, and reads each dose's
    # group as a slice; those drawn inside the running window go to a small ``late`` pool.
    event_at = np.full(n, J, dtype=np.int32)
    resume_at_dose = np.full(n, J, dtype=np.int32)
    since = np.zeros(n, dtype=np.int32)  # the dose from which ``cur`` is not yet in ``tally``
    empty = np.zeros(0, dtype=np.int64)
    out = Tally(n=n)

    def flush(who: NDArray[np.int64], j: int) -> None:
        """Add ``cur`` of doses ``since`` .. ``j - 1`` to the tally of ``who`` (before ``cur`` changes)."""
        tally[who] += cur[who] * (j - since[who])
        since[who] = j

    class Queue:
        """Patients due at a dose: the window's sorted slice plus the late pool."""

        def __init__(self, at: NDArray[np.int32]) -> None:
            self.at = at
            self.who = empty
            self.when = empty
            self.pos = 0
            self.late_who = empty
            self.late_when = empty
            self.end = 0

        def open(self, first_dose: int, end_dose: int) -> None:
            self.end = end_dose
            who = np.flatnonzero(self.at < end_dose)
            when = self.at[who]
            order = np.argsort(when, kind="stable")
            self.who, self.when, self.pos = who[order], when[order].astype(np.int64), 0
            self.late_who = self.late_when = empty

        def put(self, who: NDArray[np.int64], at: NDArray[np.int64]) -> None:
            self.at[who] = np.minimum(at, J)
            soon = at < self.end
            if soon.any():
                self.late_who = np.concatenate((self.late_who, who[soon]))
                self.late_when = np.concatenate((self.late_when, at[soon]))

        def take(self, j: int) -> NDArray[np.int64] | None:
            stop = self.pos
            if stop < len(self.when) and self.when[stop] == j:
                stop = int(np.searchsorted(self.when, j, side="right"))
            got = self.who[self.pos : stop]
            self.pos = stop
            if len(self.late_who):
                now = self.late_when == j
                if now.any():
                    got = np.concatenate((got, self.late_who[now]))
                    later = self.late_when > j
                    self.late_who, self.late_when = self.late_who[later], self.late_when[later]
            if not len(got):
                return None
            got = got[self.at[got] == j]
            self.at[got] = J
            return got if len(got) else None

    events_due = Queue(event_at)
    resumes_due = Queue(resume_at_dose)

    def schedule(who: NDArray[np.int64], j0: int) -> None:
        """Draw each patient's next event from dose ``j0`` on and put it in that dose's bucket."""
        if not len(who) or j0 >= J:
            return
        if forced_next is not None:
            at = np.full(len(who), forced_next[j0], dtype=np.int64)
        elif K == 0 or hazard[-1] <= 0:
            return
        else:
            u = streams.uniform_from(keys[who], draws[who])
            draws[who] += 1
            base = hazard[j0 - 1] if j0 > 0 else 0.0
            at = np.searchsorted(hazard, base - np.log(u), side="left")
            np.maximum(at, j0, out=at)
        events_due.put(who, at)

    def give(idx: NDArray[np.int64], j: int, resumed: NDArray[np.int64] | None) -> tuple[NDArray[np.int64], Any]:
        """Dose ``j`` for patients ``idx`` (sorted; all taking it), by the engine's fold.

        Returns the patients a resumption stopped, and those whose dose may change at the next dose.
        """
        flush(idx, j)
        key = int(plan.course[j])
        course = plan.courses[key]
        c = slot[key]
        phase = int(plan.phase[j])
        seen = phase_of[idx]
        entering = idx[(seen != phase) & (seen != -2)]  # enter_phase: a reduction belongs to its phase
        if len(entering):
            ceiling[entering] = _NO_CEILING
            pinned[entering] = False
            last_given[entering] = -1
        phase_of[idx] = phase
        due = step = None
        if course.escalates:
            due = np.full(len(idx), int(plan.due[j]), dtype=np.int64)
            if paused is not None and len(course.change_days):
                shift = paused[c, idx]
                moved = shift > 0
                if moved.any():
                    due[moved] = np.searchsorted(course.change_days, plan.course_day[j] - shift[moved], side="right")
            step = climb(due, steps[c, idx].astype(np.int64), np.minimum)
            steps[c, idx] = step
            index = course.steps[step]
        else:
            index = np.full(len(idx), int(plan.planned[j]), dtype=np.int64)
        stopped = empty
        if resumed is not None and len(resumed):
            pos = np.searchsorted(idx, resumed)
            level = pend_level[resumed]
            at = np.searchsorted(starts_off, pend_day[resumed], side="right") - 1
            belongs = np.where(at >= 0, starts_phase[np.maximum(at, 0)], -1) == phase
            lower = (level == _LOWER) & belongs
            if lower.any():
                rows, where = resumed[lower], pos[lower]
                ceil_now = np.searchsorted(course.ladder, ceiling[rows], side="right") - 1
                planned_now = course.ladder[capped(index[where], ceil_now, np.minimum)]
                reference = np.where(last_given[rows] >= 0, last_given[rows], planned_now)
                below = lowered(np.searchsorted(course.ladder, reference, side="right") - 1)
                stop = below == NO_LEVEL
                ceiling[rows[~stop]] = course.ladder[below[~stop]]
                pinned[rows[~stop]] = False
                if stop.any():
                    stopped = rows[stop]
                    keep = np.ones(len(idx), dtype=bool)
                    keep[where[stop]] = False
                    idx, index = idx[keep], index[keep]
                    if step is not None and due is not None:
                        step, due = step[keep], due[keep]
                    on[stopped] = False
                    active[stopped] = False
                    cur[stopped] = 0
            start = level == _START
            if start.any():
                pinned[resumed[start]] = True
        ceil_idx = np.searchsorted(course.ladder, ceiling[idx], side="right") - 1
        level_now = capped(index, ceil_idx, np.minimum)
        if course.start_index >= 0:
            level_now = np.where(pinned[idx], course.start_index, level_now)
        units = course.ladder[level_now]
        cur[idx] = packed[key][level_now]
        last_given[idx] = units
        window_top[idx] = np.maximum(window_top[idx], units)
        hit = idx[(units == cap_units) & (target[idx] == _NEVER)]
        target[hit] = int(day[j])
        lag = np.zeros(len(idx), dtype=bool)
        if step is not None and due is not None:
            lag |= step < due
        if paused is not None and len(course.change_days):
            lag |= paused[c, idx] > 0
        return stopped, idx[lag]

    schedule(np.arange(n, dtype=np.int64), 0)
    watch = empty  # patients whose dose may change at the next dose (climbing one step a dose, paused)
    previous: tuple[int, int, int, int] | None = None
    for w, window in enumerate(plan.windows):
        np.copyto(window_start, tally)
        window_event.fill(False)
        window_held.fill(False)
        window_top.fill(0)
        if window.end_dose > window.first_dose:
            cycles_on += on
            events_due.open(window.first_dose, window.end_dose)
            resumes_due.open(window.first_dose, window.end_dose)
        for j in range(window.first_dose, window.end_dose):
            resumed = resumes_due.take(j)
            if resumed is not None:
                resumed = np.sort(resumed)
                active[resumed] = True
            key = (int(plan.course[j]), int(plan.planned[j]), int(plan.due[j]), int(plan.phase[j]))
            if key != previous:
                idx = np.flatnonzero(active)
            else:
                watch = watch[active[watch]]
                if resumed is None:
                    idx = watch
                elif len(watch):
                    idx = np.union1d(watch, resumed)
                else:
                    idx = resumed
            previous = key
            watch = empty
            if len(idx):
                stopped, watch = give(idx, j, resumed)
                if resumed is not None:
                    schedule(resumed[on[resumed]] if len(stopped) else resumed, j)
            if j == window.first_dose:
                np.logical_and(on, ~active, out=window_held)
                np.right_shift(cur, _UNIT_SHIFT, out=scratch)
                np.maximum(window_top, scratch, out=window_top, casting="unsafe")
            if daily is not None:
                daily[:, int(day[j]) + plan.lead_days] = cur >> _UNIT_SHIFT
            ev = events_due.take(j)
            if ev is None:
                continue
            ev = ev[active[ev]]
            if not len(ev):
                continue
            if forced_kind is not None:
                kind = np.full(len(ev), forced_kind[j], dtype=np.int64)
            elif K > 1:
                u = streams.uniform_from(keys[ev], draws[ev])
                draws[ev] += 1
                kind = np.minimum((u[:, None] > shares[w][None, :]).sum(axis=1), K - 1)
            else:
                kind = np.zeros(len(ev), dtype=np.int64)
            for k_, count in enumerate(np.bincount(kind, minlength=K).tolist()):
                if count:
                    out.count(f"kind{k_}.events", count)
            events[ev] += 1
            window_event[ev] = True
            last_event[ev] = int(day[j])
            drops[kind, ev] += 1
            level = np.where(drops[kind, ev] == 1, resume_at[kind], then_at[kind])
            level = np.where((level == _START) & reduced[ev], _SAME, level)
            reduced[ev] |= level == _LOWER
            pend_level[ev] = level
            back_on = int(day[j]) + 1 + recovery
            pend_day[ev] = back_on
            same = ev[level == _SAME]
            if len(same) and paused is not None:
                for k in day_counted:
                    since_k = max(int(day[j]) + 1, plan.courses[k].first_offset)
                    paused[slot[k], same] += max(0, back_on - since_k)
            active[ev] = False
            flush(ev, j + 1)
            cur[ev] = 0
            r = int(np.searchsorted(day, back_on, side="left"))
            if r < J:
                resumes_due.put(ev, np.full(len(ev), r, dtype=np.int64))
            if j + 1 < window.end_dose and r > j + 1:
                window_held[ev] = True
        # every patient's tally up to the window's end
        np.subtract(window.end_dose, since, out=scratch, casting="unsafe")
        scratch *= cur
        tally += scratch
        since.fill(window.end_dose)
        # --- the window's tally ---
        np.subtract(tally, window_start, out=scratch)
        scratch >>= _UNIT_SHIFT
        scratch //= grid
        out.add_hist(f"cycle{w}.units", scratch)
        out.count(f"cycle{w}.event", int(window_event.sum()))
        out.count(f"cycle{w}.held", int(window_held.sum()))
        out.count(f"cycle{w}.at_cap", int((window_top == cap_units).sum()))
        out.count(f"cycle{w}.reached", int((target != _NEVER).sum()))
        out.count(f"cycle{w}.stopped", int((~on).sum()))
        if window.end_dose > window.first_dose:
            given = window_top > 0
            level_of = np.searchsorted(levels, window_top[given])
            rows = np.flatnonzero(given)
            at_level[level_of, rows] += 1
    units = tally >> _UNIT_SHIFT
    first_day = int(day[0]) if J else 0
    last_day = np.where(active, int(day[-1]) if J else 0, last_event)
    out.add_hist("units", units // grid)
    out.add_hist("capsules", (tally >> _CAPS_SHIFT) & ((1 << (_UNIT_SHIFT - _CAPS_SHIFT)) - 1))
    out.add_hist("dosing_days", tally & ((1 << _CAPS_SHIFT) - 1))
    out.add_hist("events", events)
    out.add_hist("duration", last_day - first_day + 1)
    reached = target != _NEVER
    out.add_hist("target_day", target[reached] - first_day + 1)
    out.add_hist("visits", cycles_on.astype(np.int64) + 2 * events + plan.clinic_days)
    for i in range(len(levels)):
        out.add_hist(f"level{i}.cycles", at_level[i])
    out.count("stopped", int((~on).sum()))
    out.count("with_event", int((events > 0).sum()))
    out.count("reached", int(reached.sum()))
    return Block(first=first, units=units, events=events, stopped=~on, tally=out, daily=daily)
