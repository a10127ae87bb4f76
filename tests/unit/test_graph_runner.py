"""bot.rasa_ext.patches.graph_runner: the trained model's graph run node after node gives what dask gave, for
NLU (held-out messages) and for dialogue predictions along real conversations."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.core.agent import Agent
from rasa.core.channels import CollectingOutputChannel, UserMessage
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

from bot.rasa_ext.patches import graph_runner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(str(ROOT / "models" / "complaints.tar.gz"))


def heldout_texts(limit: int = 60):
    data = yaml.safe_load((ROOT / "tests" / "data" / "nlu_heldout.yml").read_text())
    texts = [line[2:].strip() for block in data["nlu"] for line in block["examples"].splitlines() if line.startswith("- ")]
    return texts[:limit] + ["", "🙂", "包裹迟到了", "x" * 500]


@pytest.fixture
def with_run(monkeypatch):
    def use(run):
        monkeypatch.setattr(DaskGraphRunner, "run", run)
    return use


async def test_nlu_parses_are_the_same(agent, with_run):
    results = {}
    for name, run in (("dask", graph_runner.ORIGINAL_RUN), ("ordered", graph_runner.run)):
        with_run(run)
        results[name] = [await agent.parse_message(text) for text in heldout_texts()]
    assert results["ordered"] == results["dask"]


async def test_dialogue_predictions_are_the_same(agent, with_run):
    turns = ["hi", "my parcel ord 4400918 is 5 days late", "/affirm", "/inform{\"remedy\": \"voucher_10\"}",
             "what is the status of my complaint", "I want to talk to a person"]
    predictions = {}
    for name, run in (("dask", graph_runner.ORIGINAL_RUN), ("ordered", graph_runner.run)):
        with_run(run)
        sender = f"graph-{name}"
        seen = []
        for text in turns:
            tracker = await agent.processor.fetch_tracker_and_update_session(sender, CollectingOutputChannel())
            await agent.processor._handle_message_with_tracker(UserMessage(text, sender_id=sender), tracker)
            prediction = agent.processor._predict_next_with_tracker(tracker)
            seen.append((prediction.max_confidence_index, prediction.policy_name, prediction.max_confidence))
            await agent.processor.save_tracker(tracker)
        predictions[name] = seen
    assert predictions["ordered"] == predictions["dask"]
    assert any(policy for _, policy, _ in predictions["ordered"])


def test_every_node_runs_once_after_what_it_needs(agent):
    runner = agent.processor.graph_runner
    order = graph_runner.run_order(runner, tuple(runner._graph_schema.nodes))
    assert len(order) == len(set(order))
    position = {name: i for i, name in enumerate(order)}
    for name in order:
        for need in runner._graph_schema.nodes[name].needs.values():
            if need in position:
                assert position[need] < position[name], f"{name} runs before {need}"


def test_an_input_named_like_a_node_is_refused_as_rasa_does(agent):
    runner = agent.processor.graph_runner
    node = graph_runner.run_order(runner, tuple(runner._graph_schema.nodes))[0]
    for run in (graph_runner.ORIGINAL_RUN, graph_runner.run):
        with pytest.raises(GraphRunError):
            run(runner, inputs={"__message__": node}, targets=[node])
