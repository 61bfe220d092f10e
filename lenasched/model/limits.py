"""The limits that protect the machine, in one place, each checked before the work it bounds.

A protocol file is small, but its numbers multiply: 2,000 cycles of 366 days with ten daily
drugs is 7.3 million rows from 1.4 KB of YAML. Every limit here is checked from the protocol's
numbers (or the request's) *before* anything is expanded, and its message names the limit and
how to narrow the request, so a user is never left waiting for a job that cannot finish. The
values are far above any real regimen (the longest bundled calendar, continuous maintenance for
two years, is about 2,200 rows) and low enough that every accepted command stays under 1 GiB of
memory (``benchmarks/memory_bench.py`` checks the worst cases).
"""

from __future__ import annotations

__all__ = [
    "MAX_CYCLES",
    "MAX_CYCLES_IN_A_PHASE",
    "MAX_CYCLE_DAY",
    "MAX_DOSE_DAYS",
    "MAX_ESCALATION_LEVELS",
    "MAX_ICS_EVENTS",
    "MAX_INTERVAL_DAYS",
]

MAX_CYCLES = 2000
"""Cycles in one calendar (about 150 years of 28-day cycles)."""

MAX_CYCLES_IN_A_PHASE = 1000
"""A phase's stated number of cycles, or a cycle number named in it."""

MAX_CYCLE_DAY = 366
"""A day number within a cycle (cycles are at most 366 days long)."""

MAX_INTERVAL_DAYS = 366 * 10
"""An escalation or repeat interval in days (ten years)."""

MAX_ESCALATION_LEVELS = 200
"""Doses on one escalation's way up, start and cap included (2.5 mg steps from 2.5 to 500 mg)."""

MAX_DOSE_DAYS = 100_000
"""Rows (one drug on one date) in one calendar: daily dosing of three drugs for 90 years."""

MAX_ICS_EVENTS = 20_000
"""Events in one iCalendar file: calendar apps slow down long before this, and each event costs memory."""
