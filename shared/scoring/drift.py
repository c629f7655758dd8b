"""Feature drift: the population stability index of live features against a reference.

PSI = sum over bins of (live - ref) * ln(live / ref), with shares smoothed so an empty
bin does not divide by zero. Rules of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 the
model is scoring a population it was not trained on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_BINS = 10
_SMOOTHING = 1e-4


@dataclass(frozen=True)
class Histogram:
    """Bins (-inf, e0], (e0, e1], ..., (e_last, inf) and the share of values in each."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    def as_dict(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "shares": list(self.shares)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        edges = tuple(float(e) for e in data["edges"])
        shares = tuple(float(s) for s in data.get("shares", data.get("fractions", ())))
        if len(shares) != len(edges) + 1:
            raise ValueError("a histogram needs one share more than it has edges")
        return cls(edges, shares)


def _bin(value: float, edges: Sequence[float]) -> int:
    # Few edges: a linear walk is as fast as bisect and keeps the (e, e'] convention explicit.
    for index, edge in enumerate(edges):
        if value <= edge:
            return index
    return len(edges)


def shares(values: Sequence[float], edges: Sequence[float]) -> tuple[float, ...]:
    counts = [0] * (len(edges) + 1)
    for value in values:
        counts[_bin(value, edges)] += 1
    total = len(values) or 1
    return tuple(c / total for c in counts)


def quantile_edges(values: Sequence[float], bins: int = DEFAULT_BINS) -> tuple[float, ...]:
    """Distinct cut points at the value quantiles, the largest value included: the last bin
    (above everything seen) is empty in the reference, so values beyond it show as drift.
    Flags and small counts get one edge per level they took."""
    ordered = sorted(v for v in values if math.isfinite(v))
    if not ordered:
        return ()
    cuts = {ordered[min(len(ordered) - 1, (len(ordered) * k) // bins)] for k in range(1, bins)}
    cuts.add(ordered[-1])
    return tuple(sorted(cuts))


def reference(values: Sequence[float], bins: int = DEFAULT_BINS) -> Histogram:
    edges = quantile_edges(values, bins)
    return Histogram(edges, shares(values, edges))


def psi(base: Histogram, values: Sequence[float]) -> float:
    live = shares(values, base.edges)
    total = 0.0
    for expected, actual in zip(base.shares, live, strict=True):
        e = max(expected, _SMOOTHING)
        a = max(actual, _SMOOTHING)
        total += (a - e) * math.log(a / e)
    return round(total, 6)


def psi_by_feature(
    references: Mapping[str, Histogram], rows: Sequence[Sequence[float]], names: Sequence[str]
) -> dict[str, float]:
    """PSI of each named feature that has a reference; empty without rows."""
    if not rows:
        return {}
    figures = {}
    for column, name in enumerate(names):
        base = references.get(name)
        if base is not None:
            figures[name] = psi(base, [row[column] for row in rows])
    return figures
