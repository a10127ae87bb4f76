"""Priority = urgency x customer value x risk (seed 001), weights from the catalog."""
from __future__ import annotations

from typing import Any, Dict, List


def assess_priority(ticket: Dict[str, Any], catalog, whitelisted: bool) -> Dict[str, Any]:
    weights = catalog.data.get("priority", {})
    reasons: List[str] = []

    category = catalog.category(ticket.get("category"))
    emotion = (ticket.get("emotion") or {}).get("label", "calm")
    urgency = min(1.0, category.get("urgency", 0.3) + weights.get("emotion_urgency", {}).get(emotion, 0.0))
    reasons.append(f"urgency {urgency:.2f}: {ticket.get('category') or 'unclassified'}, customer {emotion}")

    value_cfg = weights.get("value", {})
    value = value_cfg.get("default", 0.7)
    amount = (ticket.get("facts") or {}).get("amount") or 0
    if whitelisted:
        value = value_cfg.get("whitelisted", 1.0)
        reasons.append("high-value customer (whitelist)")
    elif amount >= value_cfg.get("high_amount_from", 500):
        value = value_cfg.get("high_amount", 0.9)
        reasons.append(f"high order value ({amount:g})")

    risk_cfg = weights.get("risk", {})
    risk = risk_cfg.get("base", 0.6)
    for flag in ticket.get("risk_flags") or []:
        bump = risk_cfg.get("per_flag", {}).get(flag, 0.0)
        if bump:
            risk += bump
            reasons.append(f"risk: {flag}")
    risk = min(1.0, risk)

    score = max(0, min(100, round(100 * urgency * value * risk)))
    level = "P4"
    for name, threshold in sorted(weights.get("levels", {}).items(), key=lambda kv: -kv[1]):
        if score >= threshold:
            level = name
            break
    return {"score": score, "level": level, "reasons": reasons}
