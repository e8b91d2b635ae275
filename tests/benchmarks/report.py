"""The benchmark's figures and how they are reported: each figure beside its floor, the
medians of several runs with the ratio of each run, and the table of docs/performance.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass
class Figure:
    name: str
    arrsync: float
    floor: float | None
    ratio: float | None  # arrsync / floor, or floor / arrsync for "times faster"
    target: str
    met: bool
    unit: str
    detail: dict[str, Any]
    ratios: list[float] = field(default_factory=list)  # of every run, when repeated



def meets(target: str, value: float) -> bool:
    """Whether `value` meets a target such as "≤ 2", "≥ 0.8" (times) or "< 80 MB"."""
    sign, limit = target.split()[:2]
    bound = float(limit.rstrip(TIMES))
    return {"≤": value <= bound, "≥": value >= bound, "<": value < bound}[sign]


def combine(runs: list[list[Figure]]) -> list[Figure]:
    """Each figure's medians over the runs, its ratio from each run, met by the median."""
    combined = []
    for same in zip(*runs, strict=True):
        first = same[0]
        ratios = [f.ratio for f in same if f.ratio is not None]
        values = [f.arrsync for f in same]
        floors = [f.floor for f in same if f.floor is not None]
        ratio = statistics.median(ratios) if ratios else None
        met = meets(first.target, ratio if ratio is not None else statistics.median(values))
        combined.append(Figure(first.name, statistics.median(values),
                               statistics.median(floors) if floors else None, ratio,
                               first.target, met, first.unit, {}, ratios))
    return combined


def table(figures: list[Figure]) -> str:
    def number(value: float | None, unit: str) -> str:
        if value is None:
            return ""
        return f"{value:.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"

    spread = any(len(f.ratios) > 1 for f in figures)
    lines = ["| figure | arrsync | floor (same run) | ratio | " + (
        "ratio in each run | " if spread else "") + "target | met |",
        "|---|---|---|---|" + ("---|" if spread else "") + "---|---|"]
    for f in figures:
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}{TIMES}"
        each = ", ".join(f"{r:.2f}" for r in f.ratios) + " | " if spread else ""
        lines.append(f"| {f.name} | {number(f.arrsync, f.unit)} | {number(f.floor, f.unit)} "
                     f"| {ratio} | {each}{f.target} | {'yes' if f.met else '**no**'} |")
    return "\n".join(lines)


def cpu_summary(runs: list[list[Figure]]) -> str:
    """For each figure that measured CPU: the CPU time per webhook of each process, medians
    over the runs, e.g. "bridge 2.9 ms, syncer 0.5 ms, floor app 2.3 ms"."""
    lines = []
    for same in zip(*runs, strict=True):
        keys = [k for k in same[0].detail if k.endswith("_cpu_ms")]
        if keys:
            parts = [f"{k.removesuffix('_cpu_ms').replace('_', ' ')} "
                     f"{statistics.median(f.detail[k] for f in same):.2f} ms" for k in keys]
            lines.append(f"CPU per webhook, {same[0].name}: {', '.join(parts)}")
    return "\n".join(lines)
