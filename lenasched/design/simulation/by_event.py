"""The run event by event, for plans where every event lowers the dose: rounds over patients, not doses.

``core.run_block`` steps through the doses and touches, on each, the few patients with something
happening there: each event or resumption costs about ten scattered memory accesses. When the plan
is one course (so one phase) and every event is followed by a resumption one level lower (the
generic model and most protocols' own rules), a patient's doses between a resumption and its next
event depend on its ceiling alone, and that next event is drawn at the resumption (the hazard
does not depend on the dose). So this runner moves **every live patient one event per round**, on
contiguous arrays:

1. the doses from the patient's (re)start to its next event, under its ceiling: a few lookups in
   tables built once per plan (for every ceiling and dose: the dose code, the running sum of the
   dose, the first dose at the cap);
2. the event: held, the next draws, the resumption ``recovery_days`` later one level lower (or the
   stop below the lowest level), and the dose of the event after it;
3. patients done (on the drug to the horizon, stopped, or held past it) leave.

A round costs about a hundred whole-array operations on the live patients and nothing per dose;
there are as many rounds as the most events any patient has. After a hold that spanned two
escalations the step climbs one level per dose (``climb``) until it is back on the plan's: those
doses are given one at a time. The per-cycle outputs are folded from these stretches: a cycle a
stretch covers whole is counted by its ceiling alone; the cycles where a stretch starts or ends are
accumulated per patient and counted when the patient moves on to a later cycle.

The rules are the engine's transitions, evaluated once per ceiling (``core._course``); every patient
draws the same random numbers in the same order as in ``core.run_block``, and both runners end in
``core._finish``; ``tests/test_simulate_runners.py`` checks that the results are identical, patient
by patient and count by count, on every bundled protocol it covers. Everything else (several phases
or courses, resumptions at the same or the starting dose, forced events, the daily matrix) runs in
``core.run_block``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lenasched.design.simulation.stats import Tally

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from lenasched.design.simulation.core import _Course, _Search
    from lenasched.design.simulation.plan import DrugPlan
    from lenasched.design.simulation.streams import PatientStreams

__all__ = ["Tables", "dose_codes", "run_events"]

_ACTIVE, _HELD, _STOPPED = 0, 1, 2  # how a patient ends
#: Per-cycle value tables larger than this (cycles x values) are left to ``core.run_block``.
_MAX_TABLE = 1 << 22
#: Patients run together: their arrays stay in the processor's cache (measured: 2**16 runs a million
#: patients about 1.5x faster than 2**19).
_PATIENTS_AT_ONCE = 1 << 16


@dataclass(frozen=True)
class Tables:
    """What ``core.run_block`` has built for the plan and model, as this runner takes it."""

    course: _Course
    codes: Any  # (ceiling code, dose) -> the dose code given on the plan under that ceiling
    free: Any  # the plan's own escalation step of each dose (None: not escalating)
    packed_of: Any  # dose code -> packed units, capsules, 1 dosing day
    cap_code: int
    none_ceiling: int
    kinds: int
    recovery_days: int
    search: _Search  # the cumulative hazard by dose, and where a draw lands on it
    shares: Any
    no_events: bool
    level_add: Any
    never: int
    unit_shift: int


def dose_codes(plan: DrugPlan, course: _Course, stride: int) -> tuple[Any, Any] | None:
    """The dose code a patient on the plan takes under each ceiling code (rows) on each planned dose
    (columns), and the plan's own escalation steps (None: not escalating). None where this runner
    does not apply: a row that ever falls (a stretch's highest dose in a cycle would not be its last),
    or escalation steps whose doses fall."""
    import numpy as np

    from lenasched.engine.transitions import climb

    J = plan.n_doses
    free: Any = None
    if course.escalates:
        free = np.empty(J, dtype=np.int64)
        step = -1
        for j, due in enumerate(plan.due.tolist()):
            step = climb(due, step)
            free[j] = step
        rows, table = free * stride, course.by_step
        by_step = course.by_step.reshape(-1, stride).astype(np.int16)
        if len(by_step) > 1 and (np.diff(by_step, axis=0) < 0).any():
            return None
    else:
        rows, table = plan.planned * stride, course.dose
    codes = table.take(rows[None, :] + np.arange(stride)[:, None], mode="wrap")
    if J > 1 and (np.diff(codes.astype(np.int16), axis=1) < 0).any():
        return None
    return codes, free


def run_events(
    plan: DrugPlan,
    streams: PatientStreams,
    first: int,
    n: int,
    tables: Tables,
    progress: Callable[[float], None] | None,
) -> tuple[Tally, dict[str, Any]] | None:
    """Simulate patients ``first`` .. ``first + n - 1``: the tally of the cycles, and the per-patient
    arrays ``core._finish`` takes, in the order the patients left (``pid``: who is where). None when
    the per-cycle tables would be too large (``core.run_block`` then)."""
    run = _Run(plan, streams, n, tables)
    if run.values * run.W > _MAX_TABLE:
        return None
    for begin in range(0, n, _PATIENTS_AT_ONCE):
        size = min(_PATIENTS_AT_ONCE, n - begin)
        run.start(first, begin, size)
        while len(run.live["pid"]):
            run.round()
            if progress is not None:
                progress((begin + size - len(run.live["pid"])) / n)
    return run.tally(), run.results()


def _pick(mask: Any, a: Any, b: Any) -> Any:
    """``numpy.where(mask, a, b)`` for integers, as arithmetic (``where`` on an irregular mask is
    ~4x slower here)."""
    out = a - b
    out *= mask
    out += b
    return out


class _Run:
    """The live patients (one entry each in every array of ``live``) and what the cycles counted."""

    def __init__(self, plan: DrugPlan, streams: PatientStreams, n: int, t: Tables) -> None:
        import numpy as np

        self.t, self.streams, self.n = t, streams, n
        self.J = J = plan.n_doses
        self.W = W = len(plan.windows)
        self.K = max(t.kinds, 1)
        self.per_event = 2 if t.kinds > 1 else 1  # numbers an event draws: its kind (several), the next event
        self.day = plan.day.astype(np.int64)
        self.stride = stride = t.codes.shape[0]
        self.width = width = J + 1
        codes = t.codes.astype(np.int64)
        # per (ceiling, dose): the running sum of the packed dose from dose 0 (and of its dose units on
        # the grid: the packed fields below them never carry), and the first dose at the cap from there
        sums = np.zeros((stride, width), dtype=np.int64)
        np.cumsum(t.packed_of.take(codes, mode="wrap"), axis=1, out=sums[:, 1:])
        grid_sums = sums >> t.unit_shift
        first_cap = np.full((stride, width), J, dtype=np.int64)
        at_cap = np.where(codes == t.cap_code, np.arange(J), J)
        first_cap[:, :J] = np.minimum.accumulate(at_cap[:, ::-1], axis=1)[:, ::-1]
        # per cycle: its doses, and per (ceiling, cycle) what a stretch covering it whole gives
        win = plan.window.astype(np.int64)
        fw = np.array([w.first_dose for w in plan.windows], dtype=np.int64)
        ew = np.array([w.end_dose for w in plan.windows], dtype=np.int64)
        self.whole_units = grid_sums[:, ew] - grid_sums[:, fw]  # (stride, W)
        self.whole_top = np.where(ew > fw, codes[:, np.maximum(ew - 1, 0)], 0)
        levels = t.level_add.take(self.whole_top, axis=1)  # (words, stride, W)
        levels_before = np.zeros((len(t.level_add), stride, W + 1), dtype=np.uint64)
        np.cumsum(levels, axis=2, out=levels_before[:, :, 1:])
        self.levels_before = [table.ravel() for table in levels_before]
        self.values = int(self.whole_units.max(initial=0)) + 1  # (a cycle gives at most its doses uncapped)
        resume_dose = np.searchsorted(self.day, self.day + 1 + t.recovery_days, side="left")
        self.escalates = t.free is not None
        # every integer array is int64: numpy's ``take`` with other index types is ~10x slower here
        self.sums, self.grid_sums, self.first_cap, self.codes = (
            sums.ravel(),
            grid_sums.ravel(),
            first_cap.ravel(),
            codes.ravel(),
        )
        self.win, self.fw, self.ew = win, fw, ew
        self.win_or_none = np.append(win, -1)  # (index -1: no event yet)
        self.resume_dose = resume_dose
        self.resumed_or_none = np.append(resume_dose, -1)
        self.due = np.append(plan.due, 0).astype(np.int64)  # (padded: a "next dose" past the last one)
        self.free = np.append(t.free, -(2**20)) if self.escalates else None
        self.down = t.course.down.astype(np.int64)
        # each kind's cumulative share by cycle (a number where every cycle has the same)
        shares = np.asarray(t.shares, dtype=np.float64)
        self.shares_by_kind: list[Any] = [
            float(shares[0, k]) if (shares[:, k] == shares[0, k]).all() else np.ascontiguousarray(shares[:, k])
            for k in range(shares.shape[1])
        ]
        # --- what the cycles counted ---
        self.cycles = np.zeros(2 * W * self.values, dtype=np.int64)  # (cycle, at the cap, grid units): patients
        self.quiet = np.zeros((W + 1) * stride, dtype=np.int64)  # +1 / -1: cycles covered whole, by ceiling
        self.first_events = np.zeros(W, dtype=np.int64)  # patients with an event in the cycle
        self.held_after = np.zeros(W, dtype=np.int64)  # held after an event, not held at the cycle's start
        self.event_doses = np.zeros(J, dtype=np.int64)  # events on each dose (held at a cycle's start)
        self.stops = np.zeros(W, dtype=np.int64)
        self.kind_events = np.zeros(self.K, dtype=np.int64)
        self.kept = ["pid", "events", "last_event", "target", "total"] + [f"level{i}" for i in range(len(t.level_add))]
        self.done: dict[str, list[Any]] = {name: [] for name in [*self.kept, "state", "stop_window"]}
        self.live: dict[str, Any] = {"pid": np.zeros(0, dtype=np.int64)}
        self.resumed = {"ceiling", "start", "next", "lagging"}

    def start(self, first: int, begin: int, n: int) -> None:
        """The live patients: ``begin`` .. ``begin + n - 1`` of the block (``first``: its first patient)."""
        import numpy as np

        t, J, it = self.t, self.J, np.int64
        pid = np.arange(begin, begin + n, dtype=it)
        self.live = {
            "pid": pid,
            "key": self.streams.keys(pid + first),
            "ceiling": np.full(n, t.none_ceiling, dtype=it),
            "start": np.zeros(n, dtype=it),  # first dose of the stretch on the drug
            "next": np.full(n, J, dtype=it),  # the event that ends it (J: none)
            "events": np.zeros(n, dtype=it),
            "last_event": np.full(n, -1, dtype=it),  # dose of the last event (-1: none)
            "marked": np.full(n, -1, dtype=it),  # the cycle in which it was last counted as held
            "target": np.full(n, J, dtype=it),  # dose of the first dose at the cap (J: none)
            "total": np.zeros(n, dtype=np.int64),  # packed total given
            "cycle": np.full(n, -1, dtype=it),  # the cycle carried on: counted when the patient moves past it
            "cycle_units": np.zeros(n, dtype=it),  # (grid units)
            "cycle_top": np.zeros(n, dtype=it),
        }
        if self.escalates:
            self.live["step"] = np.full(n, -1, dtype=it)  # step of the last dose given (while off the plan's)
            self.live["lagging"] = np.zeros(n, dtype=bool)  # its step is behind the plan's
        for i in range(len(t.level_add)):
            self.live[f"level{i}"] = np.zeros(n, dtype=np.uint64)
        if not t.no_events:
            u = self.streams.uniform_from(self.live["key"], np.zeros(n, dtype=np.uint64))
            self.live["next"] = self.t.search.landing(u, 0)

    # --- one round ---------------------------------------------------------------------------------

    def round(self) -> None:
        """Every live patient: its doses to its next event, the event, the resumption (or it leaves)."""
        import numpy as np

        live, J = self.live, self.J
        last: Any = None  # dose code given on the event's dose, for patients whose event came while climbing
        if self.escalates and live["lagging"].any():
            last = self.climb_back()
        plain: Any = ~live["lagging"] if last is not None else None
        self.stretch(plain)
        e = live["next"]
        ended = e >= J  # on the drug to the horizon: they leave (the event's work on them is dropped)
        some_ended = bool(ended.any())
        if some_ended:
            e = np.minimum(e, J - 1)
        code = self.codes.take(live["ceiling"] * J + e)
        if last is not None:
            code = _pick(plain, code, last)
        if self.escalates:
            live["step"] = _pick(live["lagging"], live["step"], self.free.take(e))  # type: ignore[union-attr]
            live["lagging"].fill(False)
        back, lower, next_u = self.event(e, code, ended if some_ended else None)
        stops = lower == 0
        held_on = back >= J  # held past the horizon (whatever the ceiling)
        stops &= ~held_on
        gone = stops | held_on
        if some_ended:
            stops &= ~ended
            gone |= ended
        if gone.any():
            leaving = np.flatnonzero(gone)  # (index arrays: a boolean mask selects ~4x slower here)
            left_back = back.take(leaving)
            stopping = stops.take(leaving)
            where = _pick(stopping, self.win.take(np.minimum(left_back, J - 1)), self.W - 1)
            state = _pick(stopping, _STOPPED, _HELD)
            if some_ended:
                state = _pick(ended.take(leaving), _ACTIVE, state)
            if stopping.any():
                self.stops += np.bincount(where[stopping], minlength=self.W)
            self.keep_results(leaving, state, where)
            keep = np.flatnonzero(~gone)
            for name, a in live.items():
                if name not in self.resumed:  # (``resume`` sets these anew)
                    live[name] = a.take(keep)
            back, lower, next_u = back.take(keep), lower.take(keep), next_u.take(keep)
        if len(back):
            self.resume(back, lower, next_u)

    def stretch(self, who: NDArray[np.bool_] | None) -> None:
        """The doses from each patient's ``start`` to its ``next`` event (or the horizon), on the plan
        under its ceiling; ``who`` (None: all) those not climbing back."""
        import numpy as np

        live, J, W = self.live, self.J, self.W
        c, a = live["ceiling"], live["start"]
        b = np.minimum(live["next"], J - 1)  # the stretch's last dose
        given: Any = None  # (None: every patient takes doses)
        if who is not None or self.escalates:
            given = b >= a  # (not after climbing back to the horizon)
            if who is not None:
                given &= who
            if given.all():
                given = None
        row = c * self.width
        ra = row + a
        rb = row + b
        rb += 1
        delta = self.sums.take(rb) - self.sums.take(ra)
        if given is not None:
            delta *= given
        live["total"] += delta
        at = self.first_cap.take(ra)
        reach = at <= b
        reach &= live["target"] == J
        if given is not None:
            reach &= given
        if reach.any():
            live["target"][reach] = at[reach]
        wa, wb = self.win.take(a, mode="clip"), self.win.take(b)  # (a is J after climbing back to the horizon)
        end_a = self.ew.take(wa)
        np.minimum(end_a, b + 1, out=end_a)  # the stretch's doses in its first cycle: a .. end_a - 1
        first_units = self.grid_sums.take(row + end_a)
        first_units -= self.grid_sums.take(ra)
        crow = c * J
        crow -= 1
        first_top = self.codes.take(crow + end_a)
        # the first cycle joins the cycle carried on if it is the same; else that one is counted
        carry_w, carry_u, carry_t = live["cycle"], live["cycle_units"], live["cycle_top"]
        same = carry_w == wa
        first_units += carry_u * same
        np.maximum(first_top, carry_t * same, out=first_top)
        emit = carry_w >= 0
        emit &= ~same
        later = wb > wa
        kept_w, kept_u, kept_t = wa, first_units, first_top  # what the patient carries on, unless later
        if given is not None:  # (one given no dose keeps the cycle it carries)
            emit &= given
            later &= given
            kept_w, kept_u, kept_t = (
                _pick(given, wa, carry_w),
                _pick(given, first_units, carry_u),
                _pick(given, first_top, carry_t),
            )
        if later.any():
            # the first cycle is counted too; cycles covered whole (wa + 1 .. wb - 1) by ceiling; the
            # stretch's last cycle is carried on
            self.count_dense(emit, carry_w, carry_u, carry_t, later, wa, first_units, first_top)
            after = wa + 1
            inner = wb > after
            inner &= later
            if inner.any():  # (on whole arrays: a stretch over several cycles is common)
                size = len(self.quiet)
                key = after * self.stride
                key += c
                self.quiet += np.bincount(_pick(inner, key, size), minlength=size + 1)[:size]
                key = wb * self.stride
                key += c
                self.quiet -= np.bincount(_pick(inner, key, size), minlength=size + 1)[:size]
                base = c * (W + 1)
                np.minimum(after, wb, out=after)  # (elsewhere: no cycle in between, nothing added)
                after += base
                base += wb
                for i, table in enumerate(self.levels_before):
                    live[f"level{i}"] += table.take(base) - table.take(after)
            last_units = self.grid_sums.take(rb)
            last_units -= self.grid_sums.take(row + self.fw.take(wb))
            last_top = self.codes.take(crow + b + 1)
            kept_w, kept_u, kept_t = (
                _pick(later, wb, kept_w),
                _pick(later, last_units, kept_u),
                _pick(later, last_top, kept_t),
            )
        else:
            self.count_dense(emit, carry_w, carry_u, carry_t)
        live["cycle"], live["cycle_units"], live["cycle_top"] = kept_w, kept_u, kept_t

    def count_dense(self, *groups: Any) -> None:
        """Count finished cycles of every live patient: ``groups`` is (which, cycle, grid units,
        highest code) repeated, on whole arrays (``which``: whose cycle it is)."""

        live = self.live
        for which, w, units, top in zip(groups[::4], groups[1::4], groups[2::4], groups[3::4], strict=True):
            for i, add in enumerate(self.fold(_pick(which, w, self.W), units, top * which)):  # (W: not counted)
                live[f"level{i}"] += add

    def fold(self, w: Any, units: Any, top: Any) -> list[Any]:
        """Count cycles ``w`` (W: none) worth ``units`` on the grid with highest code ``top``; each
        level word's increment, per entry."""
        import numpy as np

        t = self.t
        key = w * 2
        key += top == t.cap_code
        key *= self.values
        key += units
        size = len(self.cycles)
        self.cycles += np.bincount(key, minlength=size + 2 * self.values)[:size]
        return [add.take(top) for add in t.level_add]

    def climb_back(self) -> Any:
        """The doses of patients whose step is behind the plan's, one at a time (``climb``), until
        it is back on the plan's, an event comes, or the horizon; the code of the event's dose."""
        import numpy as np

        live, t, J = self.live, self.t, self.J
        last = np.zeros(len(live["pid"]), dtype=np.int64)
        who = np.flatnonzero(live["lagging"])
        while len(who):
            at = live["start"][who]
            s = np.minimum(self.due.take(at), live["step"][who] + 1)
            code = t.course.by_step.take(s * self.stride + live["ceiling"][who], mode="wrap").astype(np.int64)
            live["step"][who] = s
            live["total"][who] += t.packed_of.take(code)
            hit = (code == t.cap_code) & (live["target"][who] == J)
            live["target"][who[hit]] = at[hit]
            # this dose joins the patient's cycle carried on if it is the same; else that one is counted
            w = self.win.take(at)
            carried = live["cycle"][who]
            moving = carried != w
            counted = who[moving & (carried >= 0)]
            adds = self.fold(live["cycle"][counted], live["cycle_units"][counted], live["cycle_top"][counted])
            for i, add in enumerate(adds):
                live[f"level{i}"][counted] += add
            units = t.packed_of.take(code) >> t.unit_shift
            stay = who[~moving]
            live["cycle_units"][stay] += units[~moving]
            live["cycle_top"][stay] = np.maximum(live["cycle_top"][stay], code[~moving])
            moved = who[moving]
            live["cycle"][moved] = w[moving]
            live["cycle_units"][moved] = units[moving]
            live["cycle_top"][moved] = code[moving]
            event = live["next"][who] == at
            last[who[event]] = code[event]
            on = who[~event]
            ahead = at[~event] + 1
            live["start"][on] = ahead
            back = np.minimum(self.due.take(ahead), s[~event] + 1) == self.free.take(ahead)  # type: ignore[union-attr]
            end = ahead >= J
            live["lagging"][on[back | end]] = False
            live["next"][on[end]] = J  # (no event before the horizon; the stretch is empty)
            live["start"][on[end]] = J
            who = on[~back & ~end]
        return last

    def event(self, e: Any, last: Any, ended: Any) -> tuple[Any, Any, Any]:
        """Every live patient's event on dose ``e`` after dose code ``last`` (``ended``: those that
        have none, whose results are dropped): the resumption dose, the ceiling there (0: the drug
        stops) and the number that draws the event after it."""
        import numpy as np

        live, W = self.live, self.W
        before = live["events"]
        draws = before.astype(np.uint64)
        draws *= np.uint64(self.per_event)
        draws += np.uint64(1)  # (a patient's first number drew its first event)
        key = live["key"]
        next_u: Any
        w = self.win.take(e)
        counted = w if ended is None else _pick(ended, W, w)  # (W: not counted)
        if self.K > 1:
            u, next_u = self.streams.uniforms_from(key, draws, 2)
            # the kind: how many cumulative shares lie below u (``numpy.searchsorted``; the last is 1)
            kind = np.zeros(len(e), dtype=np.int64)
            for k in range(self.K - 1):
                share: Any = self.shares_by_kind[k]
                kind += (share if isinstance(share, float) else share.take(w)) < u
            if ended is not None:
                kind = kind[~ended]
            self.kind_events += np.bincount(kind, minlength=self.K)
        else:
            self.kind_events[0] += len(e) if ended is None else int(np.count_nonzero(~ended))
            next_u = self.streams.uniform_from(key, draws)
        back = self.resume_dose.take(e)
        # the cycle's counts: a patient with an event in it; held after the event within it (unless
        # it was held at the cycle's start, or counted already)
        seen = live["last_event"]
        first = self.win_or_none.take(seen) != w
        fw = self.fw.take(w)
        already = seen < fw
        already &= self.resumed_or_none.take(seen) > fw
        already |= live["marked"] == w
        held = e + 1
        held = (held < self.ew.take(w)) & (back > held)
        # one count for both: by (cycle, first event in it, held after it and not counted yet)
        key = counted * 4
        key += first
        key += 2 * (held & ~already)
        both = np.bincount(key, minlength=4 * (W + 1))[: 4 * W].reshape(W, 4)
        self.first_events += both[:, 1] + both[:, 3]
        self.held_after += both[:, 2] + both[:, 3]
        held |= already
        live["marked"] = _pick(held, w, live["marked"])
        self.event_doses += np.bincount(e if ended is None else _pick(ended, self.J, e), minlength=self.J + 1)[:-1]
        if ended is None:
            live["events"] = before + 1
            live["last_event"] = e.copy()
        else:  # (those with no event keep theirs)
            live["events"] = before + ~ended
            live["last_event"] = _pick(ended, seen, e)
        return back, self.down.take(last), next_u

    def resume(self, back: Any, lower: Any, next_u: NDArray[np.float64]) -> None:
        """Every live patient back on the drug on dose ``back`` one level lower; its next event."""
        import numpy as np

        live = self.live
        live["ceiling"] = lower
        live["start"] = back
        live["next"] = self.t.search.landing(next_u, back)
        if self.escalates:
            live["lagging"] = np.minimum(self.due.take(back), live["step"] + 1) != self.free.take(back)  # type: ignore[union-attr]

    def keep_results(self, which: NDArray[np.int64], state: Any, stop_window: Any) -> None:
        """Patients ``which`` (positions) are done: their cycle carried on is counted and their results
        kept, with how they ended and the cycle of their stop (the caller drops them from ``live``)."""
        import numpy as np

        live = self.live
        got = {name: live[name].take(which) for name in (*self.kept, "cycle", "cycle_units", "cycle_top")}
        carried = got["cycle"] >= 0
        w = _pick(carried, got["cycle"], self.W)
        top = got["cycle_top"] * carried
        for i, add in enumerate(self.fold(w, got["cycle_units"], top)):
            got[f"level{i}"] += add
        for name in self.kept:
            self.done[name].append(got[name])
        self.done["state"].append(state.astype(np.int8))
        self.done["stop_window"].append(np.asarray(stop_window, dtype=np.int16))

    # --- the results -------------------------------------------------------------------------------

    def tally(self) -> Tally:
        """The cycles' counts, in ``core.run_block``'s order."""
        import numpy as np

        t, W, n = self.t, self.W, self.n
        out = Tally(n=n)
        by_cap = self.cycles.reshape(W, 2, self.values)
        values = by_cap.sum(axis=1)
        quiet = np.cumsum(self.quiet.reshape(W + 1, self.stride)[:W], axis=0)  # (cycle, ceiling)
        stopped = np.cumsum(self.stops)
        reached_at = self.done_array("target")
        reached = np.cumsum(np.bincount(self.win.take(reached_at[reached_at < self.J]), minlength=W))
        from_before = np.cumsum(self.event_doses)  # events on doses before each: held at a cycle's start
        resume_dose = self.resume_dose.astype(np.int64)
        for w in range(W):
            counts = values[w].copy()
            np.add.at(counts, self.whole_units[:, w], quiet[w])
            counts[0] += n - counts.sum()
            out.add_counts(f"cycle{w}.units", counts)
            fw, ew = int(self.fw[w]), int(self.ew[w])
            if fw < ew:
                # events before fw whose resumption is after it: held at the cycle's start
                lo = int(np.searchsorted(resume_dose, fw, side="right"))
                held_start = int(from_before[fw - 1] - (from_before[lo - 1] if lo > 0 else 0)) if fw > lo else 0
                at_cap = int(by_cap[w, 1].sum() + quiet[w][self.whole_top[:, w] == t.cap_code].sum())
            else:
                held_start = at_cap = 0
            out.count(f"cycle{w}.event", int(self.first_events[w]))
            out.count(f"cycle{w}.held", held_start + int(self.held_after[w]))
            out.count(f"cycle{w}.at_cap", at_cap)
            out.count(f"cycle{w}.reached", int(reached[w]))
            out.count(f"cycle{w}.stopped", int(stopped[w]))
        return out

    def done_array(self, name: str) -> Any:
        import numpy as np

        return np.concatenate(self.done[name])

    def results(self) -> dict[str, Any]:
        """Every patient's results, in the order they left, as ``core._finish`` takes them."""
        import numpy as np

        t, J = self.t, self.J
        target = self.done_array("target").astype(np.int64)
        last_event = self.done_array("last_event").astype(np.int64)
        state = self.done_array("state")
        return {
            "pid": self.done_array("pid").astype(np.int64),
            "tally": self.done_array("total"),
            "events": self.done_array("events").astype(np.int16),
            "active": state == _ACTIVE,
            "on": state != _STOPPED,
            "last_event": np.where(last_event >= 0, self.day.take(np.maximum(last_event, 0)), 0).astype(np.int16),
            "target": np.where(target < J, self.day.take(np.minimum(target, J - 1)), t.never).astype(np.int16),
            "stop_window": self.done_array("stop_window"),
            "at_level": np.stack([self.done_array(f"level{i}") for i in range(len(t.level_add))]),
            "kind_events": self.kind_events.tolist(),
        }
