"""Percentiles and summaries of measured turns."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence


@dataclass
class TurnResult:
    """One measured turn: client-side latency from sending to the full response."""

    channel: str            # web | ivr
    kind: str               # the script step (greet, complaint, confirm, remedy, ...)
    script: str             # the conversation script it belongs to
    sent: float             # monotonic time the request was sent
    latency: float          # seconds to the full response (body read)
    ok: bool                # HTTP 200 and a reply of the expected form
    error: Optional[str] = None
    unexpected: bool = False  # a reply, but not the one the script expected (flow drifted)
    lag: float = 0.0        # open loop: how late the client sent it after its scheduled time
    detail: Optional[str] = None  # the reply, when it was not the expected one

    @property
    def done(self) -> float:
        return self.sent + self.latency


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Linear-interpolated percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> Optional[float]:
    return percentile(values, 50)


def summarize(results: Iterable[TurnResult], seconds: float) -> Dict[str, object]:
    """Counts, latency percentiles (ms, of successful turns) and throughput (ok turns/s)."""
    results = list(results)
    ok = [r.latency for r in results if r.ok]
    errors: Dict[str, int] = {}
    for r in results:
        if not r.ok:
            errors[r.error or "error"] = errors.get(r.error or "error", 0) + 1

    def ms(value: Optional[float]) -> Optional[float]:
        return None if value is None else round(value * 1000, 1)

    return {
        "turns": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "error_kinds": errors,
        "unexpected": sum(1 for r in results if r.ok and r.unexpected),
        "unexpected_examples": [f"{r.script}/{r.kind}: {r.detail}" for r in results if r.ok and r.unexpected][:3],
        "p50_ms": ms(percentile(ok, 50)),
        "p95_ms": ms(percentile(ok, 95)),
        "p99_ms": ms(percentile(ok, 99)),
        "max_ms": ms(max(ok) if ok else None),
        "mean_ms": ms(sum(ok) / len(ok) if ok else None),
        "throughput": round(len(ok) / seconds, 2) if seconds > 0 else None,
    }


@dataclass
class RunResult:
    """All turns of one load run, and the window they count in."""

    shape: str                      # open | closed
    start: float
    seconds: float                  # the measured window's length
    results: List[TurnResult] = field(default_factory=list)
    params: Dict[str, object] = field(default_factory=dict)
    notes: Dict[str, object] = field(default_factory=dict)

    def summary(self, channel: Optional[str] = None) -> Dict[str, object]:
        chosen = [r for r in self.results if channel is None or r.channel == channel]
        return summarize(chosen, self.seconds)
