"""The end-to-end stories of tests/e2e/, held against the really running product.

`rasa test core --e2e` (make test-stories) checks each story's intents and the actions the
policies predict, but runs no action: the form's questions and what its validation sets are
only stand-in `slot_was_set` steps. Here every story's user turns go through the REST channel
of the started product (Rasa + action server + agent API), and the Rasa tracker must show,
turn by turn, the actions the story names in that order, each followed by the slot values
and active loop the story says it sets; the bot never answers that it didn't understand
(fallback, "was that a yes or a no?", invalid-answer prompts) nor with the fault apology; and
it utters the response templates a story's `metadata: says:` lists for a turn. So a story
holds with the real actions, not only with its stand-ins.

The stack runs on a fixed clock (a Wednesday in November 2026, so "the 3rd of november"
falls inside the 30-day period on any day CI runs) with a catalog that is always open (the
hand-off doesn't turn into the out-of-hours contact question at night).

The module also keeps the stories honest as they grow: customer turns are not copied from
the NLU training data, and a turn that is a payload is a button click that says so.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import yaml

from tests.live import ALWAYS_OPEN, ROOT, LiveStack, catalog_with_hours

STORIES = ROOT / "tests" / "e2e"
NLU = ROOT / "data" / "nlu"
# Wednesday 18 November 2026, 11:00 UK time: the dates the stories give ("bought on 10
# november", "14 February 2025") choose the same policy variant whenever the suite runs.
CLOCK_START = "2026-11-18T11:00:00+00:00"

# Stories the live product doesn't follow yet because of a known dialogue bug: strict, so the
# test fails (and this entry must go) as soon as the bug is fixed.
# Stories of behaviour that is known not to hold yet, run as strict expected failures (a fix
# turns them into failures until the entry is removed). None at the moment.
KNOWN_BUGS: Dict[str, str] = {}


# ---- the stories ------------------------------------------------------------------------
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


ALL_STORIES = load_stories()


# ---- the live tracker, turn by turn ---------------------------------------------------------
def live_turns(events: List[Dict[str, Any]]) -> List[Tuple[Dict[str, Any], List[Dict[str, Any]]]]:
    """[(user event, the events after it up to the next user message)]."""
    turns: List[Tuple[Dict[str, Any], List[Dict[str, Any]]]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((event, []))
        elif turns:
            turns[-1][1].append(event)
    return turns


def _window(events: List[Dict[str, Any]], start: int) -> List[Dict[str, Any]]:
    """The events an action set: those after its ActionExecuted, up to the next action."""
    window = []
    for event in events[start + 1:]:
        if event["event"] == "action":
            break
        window.append(event)
    return window


def _holds(expect: Expect, window: List[Dict[str, Any]]) -> bool:
    slots = [(e["name"], e["value"]) for e in window if e["event"] == "slot"]
    loops = [e.get("name") for e in window if e["event"] == "active_loop"]
    return all(slot in slots for slot in expect.slots) and all(loop in loops for loop in expect.loop)


def _describe(events: List[Dict[str, Any]]) -> str:
    shown = []
    for e in events:
        if e["event"] == "action" and e["name"] != "action_listen":
            shown.append(e["name"])
        elif e["event"] == "slot" and (e["value"] is not None or e["name"] == "requested_slot"):
            shown.append(f"  {e['name']}={e['value']!r}")
        elif e["event"] == "active_loop":
            shown.append(f"  active_loop={e.get('name')}")
    return "\n      ".join(shown) or "(nothing)"


# The assistant saying it didn't understand, re-asking, or apologising for a fault: a story
# in customers' words is a conversation it understands, so none of these may appear.
NOT_UNDERSTOOD = re.compile(r"utter_(?:fallback_\w+|please_\w+|invalid_\w+|fact_skipped)$")


def _said(after: List[Dict[str, Any]]) -> List[str]:
    return [(e.get("metadata") or {}).get("utter_action") or "" for e in after if e["event"] == "bot"]


def story_problems(story: Story, events: List[Dict[str, Any]]) -> List[str]:
    """Where the live tracker departs from the story ([] when the story holds): per user
    turn, the story's actions must run in that order, each followed by its slots and loop;
    the bot never says it didn't understand nor apologises for a technical problem; and it
    says the responses the story's metadata lists for that turn."""
    live = live_turns(events)
    if len(live) != len(story.turns):
        return [f"the tracker has {len(live)} user turns, the story {len(story.turns)}"]
    problems = []
    for number, (turn, (user, after)) in enumerate(zip(story.turns, live), 1):
        cursor = 0
        for expect in turn.expects:
            found = next((i for i in range(cursor, len(after))
                          if after[i]["event"] == "action" and after[i]["name"] == expect.action
                          and _holds(expect, _window(after, i))), None)
            if found is None:
                intent = ((user.get("parse_data") or {}).get("intent") or {}).get("name")
                wanted = [expect.action] + [f"{k}={v!r}" for k, v in expect.slots] + [f"active_loop={v}" for v in expect.loop]
                problems.append(
                    f"turn {number} {turn.text!r} (story intent {turn.intent}, live intent {intent}): "
                    f"expected {', '.join(wanted)}\n    live:\n      {_describe(after)}"
                )
                break
            cursor = found + 1
        if not problems:
            said = _said(after)
            faults = [e for e in after if e["event"] == "bot" and (e.get("metadata") or {}).get("technical_problem")]
            unclear = [name for name in said if NOT_UNDERSTOOD.match(name)]
            missing = [name for name in story.says.get(number, []) if name not in said]
            if faults or unclear or missing:
                problems.append(f"turn {number} {turn.text!r}: " + "; ".join(filter(None, [
                    "the fault apology" if faults else "", f"said {unclear}" if unclear else "",
                    f"did not say {missing} (said {said})" if missing else ""])))
        if problems:
            break  # later turns only follow from the first departure
    return problems


# ---- the product, started once for every story ------------------------------------------------
@pytest.fixture(scope="module")
def story_stack(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("stories")
    catalog = catalog_with_hours(directory, ALWAYS_OPEN)
    stack = LiveStack(directory / "var", extra_env={"CATALOG_PATH": catalog, "CLOCK_START": CLOCK_START}).start()
    yield stack
    stack.stop()


def _params():
    for story in ALL_STORIES:
        marks = [pytest.mark.live]
        if story.name in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(reason=KNOWN_BUGS[story.name], strict=True))
        yield pytest.param(story, id=story.id, marks=marks)


@pytest.mark.parametrize("story", list(_params()))
def test_story_holds_with_the_running_actions(story: Story, story_stack: LiveStack):
    sender = f"story-{uuid.uuid4()}"
    for turn in story.turns:
        story_stack.say(sender, turn.text)  # fails on the fault path's apology (no fault is injected)
    problems = story_problems(story, story_stack.tracker(sender)["events"])
    assert not problems, f"{story.id} does not hold live:\n" + "\n".join(problems)


# ---- the stories stay in customers' own words -----------------------------------------------
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
