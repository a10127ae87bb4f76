"""Writes data/nlu/generated_noisy.yml: variations of the hand-written examples in the ways
real customers type (issue 12): swapped, dropped or doubled letters, lower case without
punctuation, ALL CAPS, fillers ("um", "erm", "like"), text-speak (u, ur, pls, thx).

Why: the held-out complaints are messier than the written examples; cross-validation
(scripts/tune_understanding.py) measures whether these variations help. They only ADD to the
written examples. Deterministic (a fixed seed per written sentence); re-run after editing data/nlu, never edit the
output by hand:
    .venv/bin/python scripts/generate_noisy_nlu.py
"""
from __future__ import annotations

import random
import re
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.check_nlu_duplicates import examples, normalise, vague_examples  # noqa: E402

NLU = ROOT / "data" / "nlu"
OUT = NLU / "generated_noisy.yml"
SEED = 20261201
# Variations per written example; chosen by cross-validation (scripts/tune_understanding.py).
PER_EXAMPLE = 1
# Other sessions' files and generated output are not sources. Nor are the long stories: their
# variations cost training time (long texts, many n-grams) for no measured gain (round 28,
# nine held-out sets, 2,599 complaints: 2 first guesses more with them, after one the same).
SKIP_FILES = {"tickets.yml", "next_steps.yml", "complaints_long_stories.yml"}

TEXT_SPEAK = {"you": "u", "your": "ur", "you're": "ur", "youre": "ur", "please": "pls", "thanks": "thx",
              "thank you": "ty", "are": "r", "because": "cos", "to": "2", "for": "4", "tonight": "2nite",
              "someone": "sum1", "anyone": "ne1", "people": "ppl", "message": "msg", "before": "b4",
              "great": "gr8", "what": "wot", "with": "wiv", "don't": "dont", "can't": "cant", "i'm": "im",
              "it's": "its", "haven't": "havent", "didn't": "didnt", "isn't": "isnt", "won't": "wont"}
FILLERS = ["um", "erm", "like", "uh", "so yeah", "basically", "right so", "yeah", "ok so", "honestly"]


def typo(word: str, rng: random.Random) -> str:
    """One keyboard slip in a word of 4+ letters: swap two neighbours, drop or double one."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def with_typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    for i in rng.sample(candidates, min(len(candidates), rng.choice([1, 1, 2]))):
        words[i] = typo(words[i], rng)
    return " ".join(words)


def plain(text: str, rng: random.Random) -> str:
    """lower case, no punctuation (apostrophes dropped too, as phones and hurried typists do)."""
    return " ".join(re.sub(r"[^\w£$€\s]", "", text.lower().replace("'", "")).split())


def shouting(text: str, rng: random.Random) -> str:
    return text.upper() + rng.choice(["", "!!", "!!!", " ??"])


def fillers(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(rng.choice([1, 2])):
        words.insert(rng.randrange(0, len(words) + 1), rng.choice(FILLERS))
    return " ".join(words)


def text_speak(text: str, rng: random.Random) -> str:
    out = text.lower()
    for full, short in TEXT_SPEAK.items():
        out = re.sub(rf"(?<![\w']){re.escape(full)}(?![\w'])", short, out)
    return out


KINDS = [with_typos, plain, shouting, fillers, text_speak]


def variation(text: str, rng: random.Random) -> str:
    """One or two of the kinds, applied in turn (typo'd and lower-cased, text-speak with fillers)."""
    kinds = rng.sample(KINDS, rng.choice([1, 1, 2]))
    for kind in kinds:
        text = kind(text, rng)
    return text


def variations(examples: Iterable[Tuple[str, str]], seed: int = SEED, per_example: int = PER_EXAMPLE) -> List[Tuple[str, str]]:
    """(text, intent) variations of these (text, intent) examples: none that reads (after the
    duplicate checker's normalisation) like any written sentence, of its intent or another."""
    return [(varied, intent) for varied, intent, _ in sourced_variations(examples, seed, per_example)]


def sourced_variations(examples: Iterable[Tuple[str, str]], seed: int = SEED,
                       per_example: int = PER_EXAMPLE) -> List[Tuple[str, str, str]]:
    """`variations`, each with the written sentence it was made from (text, intent, source)."""
    examples = list(examples)
    owners: Dict[str, Set[str]] = {}
    for text, intent in examples:
        owners.setdefault(normalise(text), set()).add(intent)
    out, seen = [], set()
    for text, intent in examples:
        # One generator per written sentence: a sentence added or removed anywhere leaves every
        # other sentence's variations as they were, so a data change measures only itself.
        rng = random.Random(f"{seed}|{intent}|{text}")
        for _ in range(per_example):
            varied = variation(text, rng)
            key = normalise(varied)
            if not key or key in owners or (key, intent) in seen:  # only new sentences
                continue
            seen.add((key, intent))
            out.append((varied, intent, text))
    return out


def written_examples() -> List[Tuple[str, str]]:
    return [(text, intent) for intent, text, name in examples(NLU)
            if not name.startswith("generated_") and name not in SKIP_FILES]


def main() -> None:
    written = written_examples()
    vague = vague_examples(NLU)
    # A variation of a vague opening is vague too: it keeps the block's metadata.
    by_block: Dict[Tuple[str, bool], List[str]] = {}
    for text, intent, source in sourced_variations(written):
        by_block.setdefault((intent, (source, intent) in vague), []).append(text)
    blocks = []
    for (intent, is_vague), texts in sorted(by_block.items()):
        block = {"intent": intent, **({"metadata": {"vague": True}} if is_vague else {})}
        blocks.append({**block, "examples": "".join(f"- {t}\n" for t in texts)})
    header = "# Generated by scripts/generate_noisy_nlu.py: do not edit by hand.\n"
    OUT.write_text(header + yaml.safe_dump({"version": "3.1", "nlu": blocks}, sort_keys=False, allow_unicode=True, width=200))
    print(f"wrote {OUT.name}: {sum(len(t) for t in by_block.values())} examples")


if __name__ == "__main__":
    main()
