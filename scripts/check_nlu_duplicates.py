"""Lists training sentences that appear under more than one intent (after lower-casing and
dropping punctuation), which teaches the classifier two answers for one message.

    .venv/bin/python scripts/check_nlu_duplicates.py   # exit 1 when any are found

It is also the one reader of NLU files (data/nlu, the held-out sets, the probes) and the one
normaliser that compares their sentences, for the scripts and tests.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
NLU = ROOT / "data" / "nlu"


def intent_blocks(path: Path) -> Iterator[Tuple[dict, List[str]]]:
    """Each intent block of an NLU file, with its examples' texts."""
    for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
        if "intent" in block:
            lines = (line.strip() for line in (block.get("examples") or "").splitlines())
            yield block, [line[2:] for line in lines if line.startswith("- ")]


def nlu_examples(path: Path) -> Iterator[Tuple[str, str]]:
    """(text, intent) of every intent example of one NLU file."""
    for block, texts in intent_blocks(path):
        for text in texts:
            yield text, block["intent"]


def examples(folder: Path = NLU) -> Iterator[Tuple[str, str, str]]:
    """(intent, text, file name) of every intent example under folder."""
    for path in sorted(folder.glob("*.yml")):
        for text, intent in nlu_examples(path):
            yield intent, text, path.name


def vague_examples(folder: Path = NLU) -> Set[Tuple[str, str]]:
    """(text, intent) of the examples in blocks marked `metadata: {vague: true}`: openings that
    name no category (bot/rasa_ext/nlu/svm_classifier.py)."""
    return {(text, block["intent"]) for path in sorted(folder.glob("*.yml"))
            for block, texts in intent_blocks(path) if (block.get("metadata") or {}).get("vague")
            for text in texts}


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
