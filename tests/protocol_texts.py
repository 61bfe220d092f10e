"""Small protocol texts shared by the designer-tool tests (compare, simulate)."""

# 5 mg daily for 56 days, then +5 mg every 28 days to 25 mg, every day, until progression.
BADOUX_LIKE = """
schema_version: 1
id: badoux-like
title: Badoux-like continuous escalation
setting: test
citation: {title: test protocol}
phases:
  - name: treatment
    cycle_length_days: 28
    until_progression: true
    drugs:
      - drug: lenalidomide
        days: 1-28
        escalation: {start: 5, step: 5, cap: 25, every_days: 28, first_step_day: 57}
        dose_levels: [25, 20, 15, 10, 5, 2.5]
outcomes:
  patients: 60
  tls_pct: 0
  tfr_pct: 52
"""
