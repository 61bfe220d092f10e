"""Medication codes for the FHIR export, each quoted from a source that was read; never guessed.

Only codes read in a primary public source are listed: the WHO Collaborating Centre's ATC/DDD pages
(whocc.no), or an HL7 FHIR terminology artefact that states the codes "as defined in
http://www.whocc.no/atc". A drug without an entry is written as text only (``medicationCodeableConcept
.text``), and the docs say so. Adding a code means adding its source next to it.

**RxNorm.** No RxNorm code is listed yet: NLM's RxNav pages for these drugs could not be read when
this table was made (an openFDA NDC record maps a lenalidomide 2.5 mg capsule to RxCUI 1242231, but that
is FDA's mapping, not NLM's page, and the concept's name was not read). ``RXNORM`` is the system URI
FHIR R4 uses, kept here for the first entry that is read from RxNav.

**ATC.** A 5th-level ATC code names the substance, not the strength or form, so one code serves every
strength. Lenalidomide itself has none here: the WHOCC page read (code L04AX02, group L04AX "Other
immunosuppressants") names lenalidomide in the group's text but lists only thalidomide's code, and the
pages that list lenalidomide's code are third-party copies.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ATC", "MEDICATION_CODES", "RXNORM", "MedicationCode", "codes_for"]

ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


class MedicationCode(NamedTuple):
    system: str
    code: str
    display: str
    source: str
    """Where the code was read (URL and what it says), so that a reviewer can check it."""


_WHOCC_ALTERATIONS = (
    "https://www.whocc.no/lists_of__temporary_atc_ddds_and_alterations/atc_level_alterations/ "
    "(WHOCC ATC level alterations, implemented 2022: L01XC02 rituximab -> L01FA01, "
    "L01XC10 ofatumumab -> L01FA02)"
)
_WHOCC_L03A = (
    "http://www.whocc.no/atc_ddd_index/?code=L03A (WHOCC ATC/DDD index, L03AA Colony stimulating "
    "factors: 'The DDDs for pegfilgrastim (L03AA13) ...')"
)
_PCSP_ATC = (
    "https://build.fhir.org/ig/hl7-eu/pcsp/ValueSet-drugsAtc-eu-pcsp.html (HL7 Europe PanCareSurPass "
    "FHIR IG, ValueSet drugsAtc-eu-pcsp: 'Include these codes as defined in http://www.whocc.no/atc')"
)

# drug name (as in the protocols, lower case) -> codes, each with its source
MEDICATION_CODES: dict[str, tuple[MedicationCode, ...]] = {
    "rituximab": (MedicationCode(ATC, "L01FA01", "rituximab", _WHOCC_ALTERATIONS),),
    # L01FA holds the high-strength (CLL) products; low-strength ofatumumab for MS is classified elsewhere
    "ofatumumab": (MedicationCode(ATC, "L01FA02", "ofatumumab", _WHOCC_ALTERATIONS),),
    "pegfilgrastim": (MedicationCode(ATC, "L03AA13", "pegfilgrastim", _WHOCC_L03A),),
    "cyclophosphamide": (MedicationCode(ATC, "L01AA01", "cyclophosphamide", _PCSP_ATC),),
    "bendamustine": (MedicationCode(ATC, "L01AA09", "bendamustine", _PCSP_ATC),),
    "fludarabine": (MedicationCode(ATC, "L01BB05", "fludarabine", _PCSP_ATC),),
}

# Drugs the bundled protocols use with no code read yet (text only in the FHIR export):
# lenalidomide, allopurinol, aspirin, dexamethasone, enoxaparin, flavopiridol (alvocidib),
# pentostatin, prednisone.


def codes_for(drug: str) -> tuple[MedicationCode, ...]:
    """The codes read for ``drug`` (empty: text only)."""
    return MEDICATION_CODES.get(" ".join(drug.split()).lower(), ())
