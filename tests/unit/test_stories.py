"""The end-to-end stories (tests/e2e/) stay in customers' own words as they grow: every
category and every correction has one, customer turns are not copied from the NLU training
data, and a turn that is a payload is a button click that says so. Held against the running
product: tests/live/test_stories_live.py."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict

import yaml

from tests.support.stories import STORIES, load_stories

ROOT = Path(__file__).resolve().parents[2]
NLU = ROOT / "data" / "nlu"
ALL_STORIES = load_stories()


def _normalised(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\((?:[^)]*)\)|\[([^\]]*)\]\{[^}]*\}", lambda m: m.group(1) or m.group(2) or "", text)
    return re.sub(r"\s+", " ", text.lower()).strip(" .!?,")


def _training_examples() -> Dict[str, str]:
    examples: Dict[str, str] = {}
    for path in sorted(NLU.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.setdefault(_normalised(line[2:]), path.name)
    return examples


def test_there_are_stories_for_every_category_and_every_correction():
    intents = {turn.intent for story in ALL_STORIES for turn in story.turns}
    categories = yaml.safe_load((ROOT / "policy" / "catalog.yml").read_text())["categories"]
    assert {f"complain_{code}" for code in categories} <= intents
    asked = {v for story in ALL_STORIES for turn in story.turns for e in turn.expects for k, v in e.slots if k == "requested_slot"}
    assert {"category_choice", "fact_to_correct", "callback_choice", "callback_window"} <= asked
    actions = {e.action for story in ALL_STORIES for turn in story.turns for e in turn.expects}
    assert {"action_handle_disagreement", "action_explain_next_steps", "action_hand_off", "action_record_callback_choice"} <= actions


def test_customer_turns_are_not_copied_from_the_training_data():
    examples = _training_examples()
    copied = [f"{story.id}: {turn.text!r} is in data/nlu/{examples[_normalised(turn.text)]}"
              for story in ALL_STORIES for turn in story.turns if _normalised(turn.text) in examples]
    assert not copied, "write these in new words:\n" + "\n".join(copied)


def test_payload_turns_are_marked_as_button_clicks():
    """A "/intent" turn tests no understanding: only a deliberate click may use one, and the
    comment above it says which button."""
    unmarked = []
    for path in sorted(STORIES.glob("*.yml")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if line.strip() == "- user: |" and number + 1 < len(lines) and lines[number + 1].strip().startswith("/"):
                comment = lines[number - 1].strip() if number else ""
                if not (comment.startswith("#") and "click" in comment.lower()):
                    unmarked.append(f"{path.name}:{number + 2}: {lines[number + 1].strip()}")
    assert not unmarked, "payloads without a '# a click on ...' comment:\n" + "\n".join(unmarked)
