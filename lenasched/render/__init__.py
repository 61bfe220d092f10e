"""Human-facing views of calendars and protocols; the only place that imports rich."""
