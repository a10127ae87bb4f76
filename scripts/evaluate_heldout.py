"""Held-out evaluation (`make eval`), on sets that are never trained on.

- tests/data/heldout/, heldout_dec/, heldout_third/ ... heldout_tenth/:
  each written blind by a helper who never saw the training data, in customers' voices, before the
  round of tuning it judged (make eval runs them all): complaint categories, facts, conversation messages.
- tests/data/nlu_heldout.yml, tests/data/facts_heldout.yml: the older sets, written in the training
  data's voice and used to tune the parser; printed for comparison only.

Prints per-category precision and recall, the confusion matrix, the clarification rate,
and fact accuracy by kind. `--heldout DIR` evaluates another folder laid out the same way
(complaints.yml, conversation.yml, facts.yml; a file it lacks is skipped). `--gate` exits
non-zero when a figure falls below the floor in that folder's floors.json (the last measured
figure minus a small margin); a folder without one has no floors yet and gates nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.check_nlu_duplicates import nlu_examples  # noqa: E402
HELDOUT = ROOT / "tests" / "data" / "heldout"
FLOORS_FILE = "floors.json"
FACT_KINDS = ("order_id", "purchase_date", "amount")


def decide(parsed: Dict[str, Any], text: str, catalog) -> Tuple[Optional[str], List[str]]:
    """The category the assistant acts on, and the categories it would offer when it asks:
    the product's own decision (actions/understanding.py) where it exists."""
    try:
        from actions.understanding import decide_category
    except ImportError:  # the blind first run measured the code before that module existed
        return _legacy_decision(parsed, text), []
    try:
        from actions.understanding import opens_complaint
    except ImportError:  # before 2026-12-02's fourth set, intents like "thank" counted too
        opens_complaint = None
    if opens_complaint is not None and not opens_complaint(parsed, text):
        return None, []  # its own rule answers it ("you're welcome", a status): no complaint taken
    decision = decide_category(parsed, text, catalog)
    try:
        from actions.policy_answers import answered_instead
    except ImportError:  # before 2026-12-08 every question with a complaint intent opened a complaint
        answered_instead = None
    if answered_instead is not None and answered_instead(decision, text, catalog, date.today()):
        return None, []  # a question about the policy, answered: no complaint taken
    return decision.category, list(decision.options)


def _legacy_decision(parsed: Dict[str, Any], text: str) -> Optional[str]:
    from actions.parsing import describes_problem

    predicted = parsed["intent"]["name"] or ""
    if predicted.startswith("complain_"):
        return predicted[len("complain_"):]
    if predicted in ("inform", "nlu_fallback") and describes_problem(text):
        best = next((r["name"] for r in parsed.get("intent_ranking", []) if r["name"].startswith("complain_")), None)
        return best[len("complain_"):] if best else None
    return None


def quiet_rasa() -> None:
    """Rasa logs every parsed message at debug level through structlog; held-out sentences
    must never reach a terminal a tuner reads, so only warnings get through."""
    import logging

    import structlog

    logging.getLogger("rasa").setLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


async def parse_all(model: Path, texts: List[str]) -> Tuple[List[Dict[str, Any]], float]:
    from rasa.core.agent import Agent

    quiet_rasa()

    agent = Agent.load(str(model))
    await agent.parse_message("warm up")
    started = time.perf_counter()
    parsed = [await agent.parse_message(text) for text in texts]
    return parsed, (time.perf_counter() - started) / max(1, len(texts))


def category_report(examples: List[Tuple[str, str]], parsed: List[Dict[str, Any]], catalog) -> Dict[str, Any]:
    confusion: Dict[str, Counter] = defaultdict(Counter)
    first = after_one = asked = 0
    errors = []
    for (text, gold_intent), result in zip(examples, parsed):
        gold = gold_intent[len("complain_"):]
        category, options = decide(result, text, catalog)
        shown = category or ("?ask" if options else "none")
        confusion[gold][shown] += 1
        first += category == gold
        if category is None and options:
            asked += 1
            after_one += gold in options
        else:
            after_one += category == gold
        if category != gold:
            errors.append({"gold": gold, "got": shown, "options": options, "text": text})
    total = len(examples)
    labels = sorted(confusion)
    per_category = {}
    for label in labels:
        tp = confusion[label][label]
        predicted = sum(confusion[g][label] for g in labels)
        actual = sum(confusion[label].values())
        per_category[label] = {
            "precision": tp / predicted if predicted else 0.0,
            "recall": tp / actual if actual else 0.0,
            "n": actual,
        }
    return {
        "total": total,
        "first_guess": first / total,
        "after_one_clarification": after_one / total,
        "clarification_rate": asked / total,
        "per_category": per_category,
        "confusion": {g: dict(c) for g, c in confusion.items()},
        "errors": errors,
    }


# A request to be called is handed off as a request for a person too (data/rules/handoff.yml),
# as an opening and at the form's fact questions; at a yes/no question (the callback offer
# among them) it is the answer, so the floor (request_human_honoured) counts request_human alone.
HANDED_OFF_AS_A_PERSON_REQUEST = {"request_human", "request_callback"}


def conversation_report(examples: List[Tuple[str, str]], parsed: List[Dict[str, Any]]) -> Dict[str, Any]:
    per_intent: Dict[str, Counter] = defaultdict(Counter)
    errors = []
    for (text, gold), result in zip(examples, parsed):
        predicted = result["intent"]["name"]
        ok = predicted != "request_human" if gold == "not_request_human" else predicted == gold
        per_intent[gold]["total"] += 1
        per_intent[gold]["correct"] += ok
        per_intent[gold]["handed_off"] += predicted in HANDED_OFF_AS_A_PERSON_REQUEST
        if not ok:
            errors.append({"gold": gold, "got": predicted, "text": text})
    human = per_intent["request_human"]
    return {
        "per_intent": {k: v["correct"] / v["total"] for k, v in per_intent.items()},
        "request_human_honoured": human["correct"] / human["total"] if human["total"] else 1.0,
        "request_human_handed_off": human["handed_off"] / human["total"] if human["total"] else 1.0,
        "accuracy": sum(v["correct"] for v in per_intent.values()) / max(1, sum(v["total"] for v in per_intent.values())),
        "errors": errors,
    }


def fact_report(path: Path, catalog) -> Dict[str, Any]:
    from actions.parsing import extract_facts

    cases = yaml.safe_load(path.read_text())
    by_kind: Dict[str, Counter] = defaultdict(Counter)
    errors = []
    for case in cases:
        got = extract_facts(case["text"], catalog, date.fromisoformat(str(case["today"])))
        for kind in FACT_KINDS:
            expected = case["expected"].get(kind)
            value = got.get(kind)
            ok = value == expected
            by_kind[kind]["total"] += 1
            by_kind[kind]["correct"] += ok
            if expected is not None:
                by_kind[kind]["stated"] += 1
                by_kind[kind]["stated_correct"] += ok
            if not ok:
                errors.append({"kind": kind, "expected": expected, "got": value, "text": case["text"]})
    correct = sum(c["correct"] for c in by_kind.values())
    total = sum(c["total"] for c in by_kind.values())
    return {
        "accuracy": correct / total,
        "by_kind": {k: {"accuracy": c["correct"] / c["total"],
                        "stated_read": c["stated_correct"] / c["stated"] if c["stated"] else 1.0,
                        "stated": c["stated"]} for k, c in by_kind.items()},
        "errors": errors,
    }


def print_report(report: Dict[str, Any]) -> None:
    folder = report["heldout"]
    cats = report.get("categories")
    if cats:
        print(f"\n== Complaint category ({folder}/complaints.yml, {cats['total']} complaints)")
        print(f"right at first guess            {cats['first_guess']:.1%}")
        print(f"right after <= 1 clarification  {cats['after_one_clarification']:.1%}")
        print(f"clarification rate              {cats['clarification_rate']:.1%}")
        print(f"{'category':18s} {'precision':>9s} {'recall':>7s} {'n':>4s}")
        for label, row in cats["per_category"].items():
            print(f"{label:18s} {row['precision']:9.1%} {row['recall']:7.1%} {row['n']:4d}")
        labels = sorted(cats["confusion"])
        columns = labels + ["?ask", "none"]
        print("confusion (rows: truth; columns: decided; ?ask = asked the customer):")
        print(" " * 16 + " ".join(f"{c[:6]:>6s}" for c in columns))
        for gold in labels:
            row = cats["confusion"][gold]
            print(f"{gold[:15]:16s}" + " ".join(f"{row.get(c, 0):6d}" for c in columns))
    conv = report.get("conversation")
    if conv:
        print(f"\n== Conversation messages ({folder}/conversation.yml)")
        for intent, accuracy in sorted(conv["per_intent"].items()):
            print(f"  {intent:22s} {accuracy:.1%}")
        print(f"requests for a person honoured  {conv['request_human_honoured']:.1%}"
              f" ('call me back' included, as handed off outside yes/no questions: {conv['request_human_handed_off']:.1%})")
    facts = report.get("facts")
    if facts:
        print(f"\n== Facts ({folder}/facts.yml): {facts['accuracy']:.1%} of all fields right")
        for kind, row in facts["by_kind"].items():
            print(f"  {kind:14s} all fields {row['accuracy']:.1%}   stated ones read {row['stated_read']:.1%} (of {row['stated']})")
    for name in report["absent"]:
        print(f"\n({folder}/{name} absent: not evaluated)")
    print(f"\nNLU time per message: {report['nlu_ms_per_message']:.1f} ms")
    print(f"Older sets (training data's voice): intents {report['old']['intents']:.1%}, facts {report['old']['facts']:.1%}")
    if report.get("verbose"):
        for section in ("categories", "conversation", "facts"):
            for error in (report.get(section) or {}).get("errors", []):
                print(f"  [{section}] {json.dumps(error)}")


def evaluate(model: Path, folder: Path = HELDOUT) -> Dict[str, Any]:
    """The report for the held-out folder `folder`; sections whose file it lacks are left out
    (listed under "absent")."""
    from bot.catalog import load_catalog

    catalog = load_catalog()
    present = {name: folder / name for name in ("complaints.yml", "conversation.yml", "facts.yml") if (folder / name).exists()}
    complaints = list(nlu_examples(present["complaints.yml"])) if "complaints.yml" in present else []
    conversation = list(nlu_examples(present["conversation.yml"])) if "conversation.yml" in present else []
    old = list(nlu_examples(ROOT / "tests" / "data" / "nlu_heldout.yml"))
    texts = [t for t, _ in complaints + conversation + old]
    parsed, per_message = asyncio.run(parse_all(model, texts))
    p_complaints = parsed[: len(complaints)]
    p_conversation = parsed[len(complaints): len(complaints) + len(conversation)]
    p_old = parsed[len(complaints) + len(conversation):]
    old_intents = sum(r["intent"]["name"] == gold for (_, gold), r in zip(old, p_old)) / len(old)
    report: Dict[str, Any] = {
        "heldout": _shown(folder),
        "absent": [name for name in ("complaints.yml", "conversation.yml", "facts.yml") if name not in present],
        "nlu_ms_per_message": 1000 * per_message,
        "old": {"intents": old_intents, "facts": fact_report(ROOT / "tests" / "data" / "facts_heldout.yml", catalog)["accuracy"]},
    }
    if complaints:
        report["categories"] = category_report(complaints, p_complaints, catalog)
    if conversation:
        report["conversation"] = conversation_report(conversation, p_conversation)
    if "facts.yml" in present:
        report["facts"] = fact_report(present["facts.yml"], catalog)
    return report


def _shown(folder: Path) -> str:
    try:
        return str(folder.resolve().relative_to(ROOT))
    except ValueError:
        return str(folder)


def floors_of(folder: Path) -> Dict[str, float]:
    """The folder's floors.json (keys starting with "_" are comments); none when it has none."""
    path = folder / FLOORS_FILE
    if not path.exists():
        return {}
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}


def gate(report: Dict[str, Any], floors: Dict[str, float]) -> List[str]:
    """The figures below their floor; a floor whose figure was not measured (its file absent)
    fails too, so a gate can't pass by losing a file."""
    sections = {
        "category_first_guess": ("categories", "first_guess"),
        "category_after_one_clarification": ("categories", "after_one_clarification"),
        "facts": ("facts", "accuracy"),
        "request_human_honoured": ("conversation", "request_human_honoured"),
    }
    failures = []
    for name, floor in floors.items():
        section, key = sections[name]
        if section not in report:
            failures.append(f"{name}: not measured (no {section} file) but floor {floor:.3f}")
        elif report[section][key] < floor:
            failures.append(f"{name}: {report[section][key]:.3f} < floor {floor:.3f}")
    return failures


def main() -> int:
    # Here, not at import: tests import this module, and the servers they start inherit os.environ.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "complaints.tar.gz"))
    parser.add_argument("--heldout", default=str(HELDOUT), help="held-out folder (default tests/data/heldout)")
    parser.add_argument("--gate", action="store_true", help=f"fail below the held-out folder's {FLOORS_FILE}")
    parser.add_argument("--verbose", action="store_true", help="print every error")
    parser.add_argument("--out", default=str(ROOT / "var" / "eval.json"))
    args = parser.parse_args()
    folder = Path(args.heldout)
    report = evaluate(Path(args.model), folder)
    report["verbose"] = args.verbose
    print_report(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    if args.gate:
        floors = floors_of(folder)
        if not floors:
            print(f"no {FLOORS_FILE} in {report['heldout']}: no floors to gate on yet")
            return 0
        failures = gate(report, floors)
        for failure in failures:
            print(f"HELD-OUT ACCURACY BELOW ITS FLOOR: {failure}", file=sys.stderr)
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
