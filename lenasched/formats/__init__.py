"""Machine-readable and printable forms of a ``Calendar``; each reads only the calendar."""
