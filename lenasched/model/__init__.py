"""The file formats and what they hold: protocols, the label, patient events and lab results, with their sources.

Nothing here computes a schedule: the models validate what needs no dates, the loader reads files."""
