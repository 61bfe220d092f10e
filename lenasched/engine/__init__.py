"""The scheduling engine: **plan** (the protocol's rules alone) then **apply** (what happened to the patient).

``expand`` is the one entry point; ``make_plan`` and the shared dose-state ``transitions`` are
public to the simulation, which applies the same rules to many patients at once.
"""

from __future__ import annotations

from lenasched.engine.expand import expand
from lenasched.engine.plan import MAX_CYCLES, Course, Plan, Planned, Slot, make_plan

__all__ = ["MAX_CYCLES", "Course", "Plan", "Planned", "Slot", "expand", "make_plan"]
