"""The end-to-end stories of tests/e2e/, read into what each customer turn is and what the
story says follows it (the actions in order, the slots and active loop each sets, the
responses its `metadata: says:` lists): held against the running product in
tests/live/test_stories_live.py, kept in customers' own words by tests/unit/test_stories.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

STORIES = Path(__file__).resolve().parents[2] / "tests" / "e2e"


@dataclass
class Expect:
    """An action the story names, and what the story says happens right after it."""

    action: str
    slots: List[Tuple[str, Any]] = field(default_factory=list)
    loop: List[Optional[str]] = field(default_factory=list)


@dataclass
class Turn:
    text: str
    intent: Optional[str]
    expects: List[Expect] = field(default_factory=list)


@dataclass
class Story:
    name: str
    path: Path
    turns: List[Turn]
    # metadata "says": {user turn number (1 = first): [response templates the bot must utter]}
    says: Dict[int, List[str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.path.stem}::{self.name}"


def load_stories() -> List[Story]:
    stories = []
    for path in sorted(STORIES.glob("*.yml")):
        for raw in yaml.safe_load(path.read_text()).get("stories") or []:
            turns: List[Turn] = []
            for step in raw["steps"]:
                if "user" in step:
                    turns.append(Turn(step["user"].strip(), step.get("intent")))
                    continue
                assert turns, f"{path.name}: {raw['story']!r} must start with a user turn"
                expects = turns[-1].expects
                if "action" in step:
                    if step["action"] != "action_listen":
                        expects.append(Expect(step["action"]))
                elif "slot_was_set" in step:
                    assert expects, f"{path.name}: {raw['story']!r}: slot_was_set before any action"
                    for item in step["slot_was_set"]:
                        expects[-1].slots.extend(item.items() if isinstance(item, dict) else [(item, True)])
                elif "active_loop" in step:
                    assert expects, f"{path.name}: {raw['story']!r}: active_loop before any action"
                    expects[-1].loop.append(step["active_loop"])
            says = {int(k): list(v) for k, v in ((raw.get("metadata") or {}).get("says") or {}).items()}
            stories.append(Story(raw["story"], path, turns, says))
    return stories
