"""Figures of the policy-question answers (actions/policy_answers.py) on a labelled set
(default tests/data/policy_questions/questions.yml): per topic, how many questions get their
topic's answer, another topic's, or none; how many questions no topic answers get an answer
anyway; and how many complaints that ask something would get one. Aggregates only: the set's
sentences are never printed (it is held out)."""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.policy_answers import policy_answer  # noqa: E402
from bot.catalog import load_catalog  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "data" / "policy_questions" / "questions.yml"


def evaluate(path: Path) -> dict:
    cat = load_catalog()
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    topics = set((cat.data.get("policy_questions") or {}).get("topics") or {})
    per = defaultdict(Counter)
    for row in rows:
        answer = policy_answer(row["text"], cat)
        got = answer.topic if answer else None
        label = row["label"]
        if label in topics:
            per[label]["right" if got == label else "wrong" if got else "unanswered"] += 1
        else:
            per[label]["answered" if got else "unanswered"] += 1
    on_topic = [per[t] for t in topics]
    right = sum(c["right"] for c in on_topic)
    total = sum(sum(c.values()) for c in on_topic)
    return {
        "topics": {t: dict(per[t]) for t in sorted(topics)},
        "answered_right": right, "on_topic": total,
        "answered_wrong": sum(c["wrong"] for c in on_topic),
        "none_answered": per["none"]["answered"], "none": sum(per["none"].values()),
        "complaints_answered": per["complaint"]["answered"], "complaints": sum(per["complaint"].values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = evaluate(args.set)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for topic, counts in result["topics"].items():
        print(f"  {topic:18} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"answered with the right topic: {result['answered_right']}/{result['on_topic']}; "
          f"with another topic's answer: {result['answered_wrong']}")
    print(f"questions no topic answers, answered anyway: {result['none_answered']}/{result['none']}")
    print(f"complaints that ask something, answered: {result['complaints_answered']}/{result['complaints']}")


if __name__ == "__main__":
    main()
