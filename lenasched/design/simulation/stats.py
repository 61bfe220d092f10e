"""Summaries that merge exactly: counts and histograms of integer per-patient values.

Every per-patient number of the simulation is an integer (dose units on the dose grid, days,
capsules, visits, events), so a summary is a set of counts and histograms. Two summaries of
disjoint patients merge by adding them, exactly, whatever the chunking; means, variances and
quantiles (numpy's linear interpolation) come from the histograms.

Intervals are **Monte Carlo** 95 % intervals: how far the estimate could be from the value an
infinite number of simulated patients would give under the same parameters. They say nothing about
whether the parameters are right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Tally", "wilson"]

Z95 = 1.959963984540054


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score 95 % interval of a proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Tally:
    """Counts and integer histograms, mergeable by addition."""

    n: int = 0
    hists: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add_hist(self, name: str, values: NDArray[np.integer], zeros: int = 0) -> None:
        """Count ``values``, and ``zeros`` more zeros (values left out because they are known to be 0)."""
        import numpy as np

        counts = np.bincount(values.astype(np.int64, copy=False)) if len(values) else np.zeros(1, dtype=np.int64)
        counts = counts.astype(np.int64)
        counts[0] += zeros
        self._add(name, counts)

    def add_counts(self, name: str, counts: NDArray[np.int64]) -> None:
        """Add a histogram already counted (``counts[v]``: how many have value v), as ``add_hist`` of
        those values would (trailing empty values trimmed)."""
        import numpy as np

        used = np.flatnonzero(counts)
        self._add(name, np.array(counts[: used[-1] + 1 if len(used) else 1], dtype=np.int64))

    def _add(self, name: str, counts: NDArray[np.int64]) -> None:
        import numpy as np

        old = self.hists.get(name)
        if old is None:
            self.hists[name] = counts
            return
        size = max(len(old), len(counts))
        merged = np.zeros(size, dtype=np.int64)
        merged[: len(old)] += old
        merged[: len(counts)] += counts
        self.hists[name] = merged

    def count(self, name: str, k: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(k)

    def merge(self, other: Tally) -> Tally:
        out = Tally(self.n, dict(self.hists), dict(self.counts))
        out.n += other.n
        for name, counts in other.hists.items():
            out._add(name, counts)
        for name, k in other.counts.items():
            out.count(name, k)
        return out

    # --- statistics from a histogram -------------------------------------------------------------

    def size(self, name: str) -> int:
        return int(self.hists[name].sum()) if name in self.hists else 0

    def mean(self, name: str) -> float:
        import numpy as np

        h = self.hists.get(name)
        if h is None or not h.sum():
            return math.nan
        return float((h * np.arange(len(h))).sum() / h.sum())

    def mean_ci(self, name: str) -> tuple[float, float, float]:
        import numpy as np

        h = self.hists.get(name)
        if h is None or not h.sum():
            return math.nan, math.nan, math.nan
        x = np.arange(len(h), dtype=np.float64)
        n = float(h.sum())
        mean = float((h * x).sum() / n)
        var = float((h * (x - mean) ** 2).sum() / max(n - 1, 1))
        half = Z95 * math.sqrt(var / n)
        return mean, mean - half, mean + half

    def _at_rank(self, h: NDArray[np.int64], rank: int) -> int:
        import numpy as np

        return int(np.searchsorted(np.cumsum(h), rank, side="right"))

    def quantile(self, name: str, q: float) -> float:
        """As ``numpy.percentile(values, 100 q)`` (linear interpolation) of the values counted."""
        h = self.hists.get(name)
        if h is None or not h.sum():
            return math.nan
        n = int(h.sum())
        pos = q * (n - 1)
        lo = math.floor(pos)
        a, b = self._at_rank(h, lo), self._at_rank(h, min(lo + 1, n - 1))
        return a + (b - a) * (pos - lo)

    def quantile_ci(self, name: str, q: float) -> tuple[float, float, float]:
        """The quantile and its distribution-free 95 % interval (order statistics, normal approximation)."""
        h = self.hists.get(name)
        if h is None or not h.sum():
            return math.nan, math.nan, math.nan
        n = int(h.sum())
        spread = Z95 * math.sqrt(n * q * (1 - q))
        lo = max(0, math.floor(n * q - spread) - 1)
        hi = min(n - 1, math.ceil(n * q + spread))
        return self.quantile(name, q), float(self._at_rank(h, lo)), float(self._at_rank(h, hi))
