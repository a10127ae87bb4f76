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

tests/unit/test_stories.py keeps the stories honest as they grow: customer turns are not
copied from the NLU training data, and a turn that is a payload is a button click that says so.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List, Tuple

import pytest

from tests.support.live import ALWAYS_OPEN, LiveStack, catalog_with_hours
from tests.support.stories import Expect, Story, load_stories

# Wednesday 18 November 2026, 11:00 UK time: the dates the stories give ("bought on 10
# november", "14 February 2025") choose the same policy variant whenever the suite runs.
CLOCK_START = "2026-11-18T11:00:00+00:00"

# Stories of behaviour that is known not to hold yet, run as strict expected failures (a fix
# turns them into failures until the entry is removed). None at the moment.
KNOWN_BUGS: Dict[str, str] = {}
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
        marks = [pytest.mark.xfail(reason=KNOWN_BUGS[story.name], strict=True)] if story.name in KNOWN_BUGS else []
        yield pytest.param(story, id=story.id, marks=marks)


@pytest.mark.parametrize("story", list(_params()))
def test_story_holds_with_the_running_actions(story: Story, story_stack: LiveStack):
    sender = f"story-{uuid.uuid4()}"
    for turn in story.turns:
        story_stack.say(sender, turn.text)  # fails on the fault path's apology (no fault is injected)
    problems = story_problems(story, story_stack.tracker(sender)["events"])
    assert not problems, f"{story.id} does not hold live:\n" + "\n".join(problems)
