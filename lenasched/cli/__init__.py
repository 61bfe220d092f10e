"""Subcommands beyond the core ones; each module has ``register(sub)`` and ``run(args)``."""
