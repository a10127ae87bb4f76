"""Held-out evaluation (`make eval`): intent accuracy on tests/nlu_heldout.yml and
fact-extraction accuracy on tests/facts_heldout.yml. Neither file is ever trained on."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOG_LEVEL", "WARNING")


def heldout_examples():
    data = yaml.safe_load((ROOT / "tests" / "nlu_heldout.yml").read_text())
    for block in data["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield line[2:], block["intent"]


async def intent_accuracy(model: Path):
    from rasa.core.agent import Agent

    from actions.parsing import describes_problem

    agent = Agent.load(str(model))
    per_intent = defaultdict(Counter)
    decided = Counter()  # the category the assistant acts on (see actions.complaint.category_of)
    errors = []
    started = time.perf_counter()
    examples = list(heldout_examples())
    for text, gold in examples:
        parsed = await agent.parse_message(text)
        predicted = parsed["intent"]["name"]
        if gold.startswith("complain_"):
            acted_on = predicted
            if not predicted.startswith("complain_") and predicted in ("inform", "nlu_fallback") and describes_problem(text):
                acted_on = next((r["name"] for r in parsed.get("intent_ranking", []) if r["name"].startswith("complain_")), predicted)
            decided["correct"] += acted_on == gold
            decided["total"] += 1
        per_intent[gold]["total"] += 1
        per_intent[gold]["correct"] += predicted == gold
        if predicted != gold:
            errors.append((gold, predicted, round(parsed["intent"]["confidence"], 2), text))
    elapsed = time.perf_counter() - started
    return examples, per_intent, errors, elapsed, decided


def fact_accuracy():
    from actions.parsing import extract_facts
    from bot.catalog import load_catalog

    catalog = load_catalog()
    cases = yaml.safe_load((ROOT / "tests" / "facts_heldout.yml").read_text())
    scores = {}
    for answering in (False, True):
        correct = total = 0
        for case in cases:
            got = extract_facts(case["text"], catalog, date.fromisoformat(str(case["today"])), answering=answering)
            for fact, expected in case["expected"].items():
                total += 1
                correct += got.get(fact) == expected
        scores["answering a question" if answering else "free-form complaint"] = (correct, total)
    return scores


def main() -> None:
    model = ROOT / "models" / "complaints.tar.gz"
    examples, per_intent, errors, elapsed, decided = asyncio.run(intent_accuracy(model))
    correct = sum(c["correct"] for c in per_intent.values())
    complaint = {k: v for k, v in per_intent.items() if k.startswith("complain_")}
    c_correct = sum(c["correct"] for c in complaint.values())
    c_total = sum(c["total"] for c in complaint.values())
    print(f"Intent accuracy (held-out, {len(examples)} examples): {correct / len(examples):.1%}")
    print(f"Complaint category accuracy ({c_total} complaints): {c_correct / c_total:.1%}")
    print(f"Complaint category the assistant acts on (intent, or best complaint intent when it heard facts): {decided['correct'] / decided['total']:.1%}")
    print(f"NLU latency: {1000 * elapsed / len(examples):.1f} ms per message")
    for intent in sorted(per_intent):
        counts = per_intent[intent]
        print(f"  {intent:28s} {counts['correct']:3d}/{counts['total']:<3d}")
    print("Errors (gold -> predicted, confidence):")
    for gold, predicted, confidence, text in errors:
        print(f"  {gold} -> {predicted} ({confidence}): {text[:90]}")
    facts = fact_accuracy()
    for mode, (ok, total) in facts.items():
        print(f"Fact extraction ({mode}): {ok}/{total} = {ok / total:.1%}")
    out = ROOT / "var" / "eval.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "intent_accuracy": correct / len(examples), "category_accuracy": c_correct / c_total,
        "facts": {k: v[0] / v[1] for k, v in facts.items()}, "errors": errors,
    }, indent=2))


if __name__ == "__main__":
    main()
