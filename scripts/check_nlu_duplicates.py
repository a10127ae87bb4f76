"""Lists training sentences that appear under more than one intent (after lower-casing and
dropping punctuation), which teaches the classifier two answers for one message.

    .venv/bin/python scripts/check_nlu_duplicates.py   # exit 1 when any are found
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
NLU = ROOT / "data" / "nlu"


def examples(folder: Path = NLU) -> Iterator[Tuple[str, str, str]]:
    """(intent, text, file name) of every intent example under folder."""
    for path in sorted(folder.glob("*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield block["intent"], line[2:], path.name


def vague_examples(folder: Path = NLU) -> Set[Tuple[str, str]]:
    """(text, intent) of the examples in blocks marked `metadata: {vague: true}`: openings that
    name no category (bot/rasa_ext/nlu/svm_classifier.py)."""
    found = set()
    for path in sorted(folder.glob("*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block and (block.get("metadata") or {}).get("vague"):
                found |= {(line.strip()[2:], block["intent"]) for line in block["examples"].splitlines()
                          if line.strip().startswith("- ")}
    return found


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w£]+", " ", text.lower()).split())


def cross_intent_duplicates(folder: Path = NLU) -> Dict[str, Set[str]]:
    intents: Dict[str, Set[str]] = defaultdict(set)
    for intent, text, _ in examples(folder):
        intents[normalise(text)].add(intent)
    return {text: found for text, found in intents.items() if len(found) > 1}


def main() -> int:
    duplicates = cross_intent_duplicates()
    for text, found in sorted(duplicates.items()):
        print(f"{text!r}: {', '.join(sorted(found))}")
    print(f"{len(duplicates)} sentence(s) under more than one intent")
    return 1 if duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
