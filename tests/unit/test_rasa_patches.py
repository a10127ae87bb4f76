"""bot/rasa_ext/patches: one install() for every change to Rasa's code, called by every custom
channel and tracker store.

- Card numbers are masked before Rasa's NLU and tracker see a message, whichever single
  channel credentials.yml lists (the phone, Socket.IO): masking no longer depends on the
  REST channel being listed. Each case runs in a fresh Python process, built as `rasa run`
  builds its channels, so no other test's install() can help it.
- On a Rasa release the patches were not measured on, nothing is patched, the refusal is
  logged, and every channel and tracker store refuses to start (fail closed: no unmasked
  card numbers).
- install() any number of times patches once.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from prometheus_client import REGISTRY
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.rasa_ext import metrics, patches
from bot.rasa_ext.patches.patching import MEASURED_ON, ORIGINALS

ROOT = Path(__file__).resolve().parents[2]
CARD = "4111 1111 1111 1111"
SAID = f"my card is {CARD}, order 4400918"
MASKED = "my card is [card ending 1111], order 4400918"

# A stand-in for Rasa's MessageProcessor: what it is handed is what the NLU parses and the
# tracker stores.
RECORDING_AGENT = '''
from rasa.core.agent import Agent

class RecordingProcessor:
    def __init__(self):
        self.seen = []

    async def handle_message(self, message):
        self.seen.append(message.text)
        return []

def recording_agent():
    agent = Agent()
    agent.processor = RecordingProcessor()
    return agent
'''

ONE_CHANNEL = RECORDING_AGENT + '''
import asyncio, json, sys
import rasa.core.run
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

channels = rasa.core.run.create_http_input_channels(None, sys.argv[1])  # as `rasa run` does
agent = recording_agent()
message = UserMessage(sys.argv[2], CollectingOutputChannel(), "c-1", input_channel=channels[0].name())
asyncio.run(agent.handle_message(message))
print(json.dumps({"channels": [c.name() for c in channels], "seen": agent.processor.seen}))
'''

OTHER_RASA = '''
import json, logging, sys
import rasa
import rasa.core.run as run_module
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext import patches
from bot.rasa_ext.channels.rest import RestInput
from bot.rasa_ext.channels.socketio import PersistentSocketIOInput
from bot.rasa_ext.channels.twilio_ivr import TwilioIVRInput
from bot.rasa_ext.patches import session_expiry, turn_hooks
from bot.rasa_ext.stores.redis_tracker_store import RedisEventTrackerStore
from bot.rasa_ext.stores.sql_tracker_store import LeanSQLTrackerStore

TARGETS = [(Agent, "handle_message"), (MessageProcessor, "save_tracker"),
           (MessageProcessor, "_has_session_expired"), (MessageProcessor, "_update_tracker_session"),
           (RemoteAction, "_validate_action_result"), (EndpointConfig, "request"), (run_module, "close_resources"),
           (TrackerFeaturizer, "_create_states"), (Event, "resolve_by_type"), (DaskGraphRunner, "run")]
before = [vars(owner)[name] for owner, name in TARGETS]
handlers = len(logging.getLogger().handlers)
outcome = {}
for version in sys.argv[1:]:
    rasa.__version__ = version
    for label, start in (("install", patches.install), ("rest", lambda: RestInput.from_credentials({})),
                         ("twilio_ivr", lambda: TwilioIVRInput.from_credentials({})),
                         ("socketio", lambda: PersistentSocketIOInput.from_credentials({})),
                         ("sql_store", lambda: LeanSQLTrackerStore(dialect="sqlite", db=":memory:")),
                         ("redis_store", lambda: RedisEventTrackerStore(host="localhost")),
                         ("session_expiry", session_expiry.install), ("turn_hooks", turn_hooks.install)):
        try:
            start()
            outcome[f"{version} {label}"] = "started"
        except patches.UnmeasuredRasa:
            outcome[f"{version} {label}"] = "refused"
changed = [f"{getattr(owner, '__name__', owner)}.{name}" for (owner, name), value in zip(TARGETS, before)
           if vars(owner)[name] is not value]
print(json.dumps({"outcome": outcome, "changed": changed, "handlers_added": len(logging.getLogger().handlers) - handlers}))
'''


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=180,
    )


def last_json(out: str) -> Dict[str, Any]:
    return json.loads(out.strip().splitlines()[-1])


def one_channel(tmp_path: Path, credentials: str) -> Dict[str, Any]:
    path = tmp_path / "credentials.yml"
    path.write_text(credentials)
    done = run_python(ONE_CHANNEL, str(path), SAID)
    assert done.returncode == 0, done.stderr[-3000:]
    return last_json(done.stdout)


def test_with_only_the_phone_listed_a_card_number_is_masked_before_rasa_reads_it(tmp_path):
    result = one_channel(tmp_path, "bot.rasa_ext.channels.twilio_ivr.TwilioIVRInput:\n")
    assert result == {"channels": ["twilio_ivr"], "seen": [MASKED]}


def test_with_only_socketio_listed_a_card_number_is_masked_before_rasa_reads_it(tmp_path):
    result = one_channel(tmp_path, "bot.rasa_ext.channels.socketio.PersistentSocketIOInput:\n  session_persistence: true\n")
    assert result == {"channels": ["socketio"], "seen": [MASKED]}


def test_on_another_rasa_release_nothing_is_patched_and_nothing_starts():
    # 3.6.20 too: the speed-ups used to accept any 3.6.x, the session patch any release at all.
    done = run_python(OTHER_RASA, "3.7.0", "3.6.20")
    assert done.returncode == 0, done.stderr[-3000:]
    result = last_json(done.stdout)
    assert set(result["outcome"].values()) == {"refused"}, result["outcome"]
    assert result["changed"] == [], "no Rasa attribute was replaced"
    assert result["handlers_added"] == 0
    assert f"measured and tested on rasa {MEASURED_ON} only: no patch applied" in done.stderr, "the refusal is logged"
    assert "rasa 3.7.0 is installed" in done.stderr


class RecordingProcessor:
    def __init__(self) -> None:
        self.seen: List[str] = []

    async def handle_message(self, message: UserMessage) -> list:
        self.seen.append(message.text)
        return []


async def test_installing_again_and_again_patches_once():
    for _ in range(3):
        assert patches.install()
        for patch in patches.PATCHES:
            patch.install()
    assert ORIGINALS, "install() replaced Rasa's attributes"
    for (owner, name), original in ORIGINALS.items():
        assert original.__module__.startswith("rasa."), f"{name}: what is kept and wrapped is Rasa's own, not a patch"
        assert getattr(owner, name) is not original
    errors_handlers = [h for h in logging.getLogger().handlers if isinstance(h, metrics.TurnErrors)]
    assert len(errors_handlers) == 1, "each ERROR of a turn is noted once"

    agent = Agent()
    agent.processor = RecordingProcessor()
    labels = {"channel": "socketio", "outcome": "ok"}
    before = REGISTRY.get_sample_value("complaints_turns_total", labels) or 0.0
    await agent.handle_message(UserMessage(SAID, CollectingOutputChannel(), "twice", input_channel="socketio"))
    assert agent.processor.seen == [MASKED]
    assert REGISTRY.get_sample_value("complaints_turns_total", labels) == before + 1, "one message, one turn counted"
