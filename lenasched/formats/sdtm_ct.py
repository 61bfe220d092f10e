"""CDISC controlled terminology used by the SDTM exports, in one place, each term under its codelist.

Target: **CDISC SDTM Controlled Terminology, package 2024-03-29** (NCI EVS). The submission values
below are the long-standing terms of these codelists; they were written from the codelists, not
re-checked line by line against a downloaded copy of that package in this change (listed as work
left in docs/designers.md). Extensible codelists (Epoch, Dosage Form, Frequency) allow
sponsor terms; where the protocol gives no value, the variable is left empty instead of guessed.
"""

from __future__ import annotations

from lenasched.model.drugs import LENALIDOMIDE
from lenasched.model.routes import ROUTES as _ROUTES

__all__ = [
    "CT_PACKAGE",
    "DOSE_FORMS",
    "EPOCHS",
    "FREQUENCY_DAILY",
    "FREQUENCY_ONCE",
    "LEAD_IN_EPOCH",
    "ROUTES",
    "ROUTE_DOSE_FORMS",
    "UNITS",
    "epoch_of",
]

CT_PACKAGE = "SDTM CT 2024-03-29"

# C66729 Route of Administration (non-extensible)
ROUTES = {code: info.cdisc_route for code, info in _ROUTES.items()}

# C71620 Unit: the dose units of the protocol format, written as CDISC writes them
UNITS = {"mg": "mg", "mg/m2": "mg/m2", "mg/kg": "mg/kg"}

# C71113 Frequency (extensible)
FREQUENCY_DAILY = "QD"  # a run of daily administrations
FREQUENCY_ONCE = "ONCE"  # a single administration

# C66726 Pharmaceutical Dosage Form (extensible). Lenalidomide is a capsule (the product label,
# protocols/label); a drug given by injection is an injection. Other oral drugs: the protocols do
# not say whether tablet or capsule, so their form stays empty.
DOSE_FORMS = {LENALIDOMIDE: "CAPSULE"}
ROUTE_DOSE_FORMS = {code: info.cdisc_dose_form for code, info in _ROUTES.items() if info.cdisc_dose_form}

# C99079 Epoch (extensible): phase names of the bundled protocols to Epoch terms; any other phase
# name is written as TREATMENT. Lead-in days (before cycle 1 day 1) are the RUN-IN epoch.
EPOCHS = {
    "treatment": "TREATMENT",
    "induction": "INDUCTION TREATMENT",
    "maintenance": "MAINTENANCE TREATMENT",
    "continuation": "CONTINUATION TREATMENT",
    "consolidation": "CONSOLIDATION TREATMENT",
}
LEAD_IN_EPOCH = "RUN-IN"


def epoch_of(phase: str, cycle: int | None) -> str:
    """The EPOCH of a dose in ``phase`` (``cycle`` None: a lead-in day)."""
    if cycle is None:
        return LEAD_IN_EPOCH
    return EPOCHS.get(phase.strip().lower(), "TREATMENT")
