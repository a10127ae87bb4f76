"""Priority = urgency x customer value x risk (docs/design.md#tracking), weights from the
catalog. A risk flag can also set a minimum level (`priority.risk.min_level`): the product
of three factors in (0, 1] would otherwise let a solicitor's letter about a cheap,
low-urgency order come out P3."""
from __future__ import annotations

from typing import Any, Dict, List

from bot.tickets.model import Emotion


def assess_priority(ticket: Dict[str, Any], catalog, whitelisted: bool) -> Dict[str, Any]:
    weights = catalog.data.get("priority", {})
    reasons: List[str] = []

    category = catalog.category(ticket.get("category"))
    emotion = (ticket.get("emotion") or {}).get("label", Emotion.CALM)
    urgency = min(1.0, category.get("urgency", 0.3) + weights.get("emotion_urgency", {}).get(emotion, 0.0))
    reasons.append(f"urgency {urgency:.2f}: {ticket.get('category') or 'unclassified'}, customer {emotion}")

    value_cfg = weights.get("value", {})
    value = value_cfg.get("default", 0.7)
    amount = (ticket.get("facts") or {}).get("amount")
    amount = amount if isinstance(amount, (int, float)) else 0
    if whitelisted:
        value = value_cfg.get("whitelisted", 1.0)
        reasons.append("high-value customer (whitelist)")
    elif amount >= value_cfg.get("high_amount_from", 500):
        value = value_cfg.get("high_amount", 0.9)
        reasons.append(f"high order value ({amount:g})")

    risk_cfg = weights.get("risk", {})
    risk = risk_cfg.get("base", 0.6)
    flags = ticket.get("risk_flags") or []
    for flag in flags:
        bump = risk_cfg.get("per_flag", {}).get(flag, 0.0)
        if bump:
            risk += bump
            reasons.append(f"risk: {flag}")
    risk = min(1.0, risk)

    score = max(0, min(100, round(100 * urgency * value * risk)))
    # Highest threshold first: P1 before P2 ...
    ladder = sorted(weights.get("levels", {}).items(), key=lambda kv: -kv[1])
    level = next((name for name, threshold in ladder if score >= threshold), "P4")
    rank = {name: position for position, (name, _) in enumerate(ladder)}
    for flag in flags:
        floor = (risk_cfg.get("min_level") or {}).get(flag)
        if floor and rank.get(floor, len(rank)) < rank.get(level, len(rank)):
            level = floor
            reasons.append(f"{flag} risk: at least {floor}")
    return {"score": score, "level": level, "reasons": reasons}
