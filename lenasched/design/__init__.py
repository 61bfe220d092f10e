"""For trial designers: comparing schedules, variants, plots and the Monte Carlo simulation."""
