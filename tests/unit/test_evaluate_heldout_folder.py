"""scripts/evaluate_heldout.py --heldout DIR: the folder given is the one evaluated and gated
(with that folder's floors.json when it has one). Exercised on the default folder only, with
a stand-in parser so that no model loads and no held-out sentence is printed."""
from __future__ import annotations

import json
import sys

import pytest

from scripts import evaluate_heldout as ev


def nothing_understood(model, texts):
    """A parser that understands nothing: every figure is at its lowest."""
    return [{"intent": {"name": "nlu_fallback", "confidence": 1.0}, "intent_ranking": []} for _ in texts], 0.001


@pytest.fixture
def run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(ev, "parse_all", lambda model, texts: _coroutine(nothing_understood(model, texts)))

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["evaluate_heldout.py", "--out", str(tmp_path / "eval.json"), *args])
        code = ev.main()
        return code, capsys.readouterr(), json.loads((tmp_path / "eval.json").read_text())
    return run


async def _coroutine(value):
    return value


def test_the_folder_given_is_evaluated_and_named(run):
    code, out, report = run("--heldout", str(ev.HELDOUT))
    assert code == 0
    assert report["heldout"] == "tests/data/heldout" and report["absent"] == []
    assert "== Complaint category (tests/data/heldout/complaints.yml" in out.out
    assert report["categories"]["total"] > 0 and report["conversation"]["per_intent"]
    assert report["facts"]["by_kind"]  # facts are read by the product's parser, not the stand-in


def test_gate_uses_that_folders_floors(run):
    floors = ev.floors_of(ev.HELDOUT)
    assert floors and all(not name.startswith("_") for name in floors)
    code, out, _ = run("--heldout", str(ev.HELDOUT), "--gate")
    assert code == 1  # a parser that understands nothing falls below the folder's floors
    assert "category_first_guess" in out.err and "HELD-OUT ACCURACY BELOW ITS FLOOR" in out.err


def test_a_request_to_be_called_is_reported_apart_from_the_gated_figure():
    # "can someone ring me" is handed off as a request for a person outside the yes/no
    # questions (data/rules/handoff.yml); the gated figure counts request_human alone.
    examples = [("get me a person", "request_human"), ("can someone ring me", "request_human"),
                ("my parcel is late", "request_human")]
    parsed = [{"intent": {"name": name}} for name in ("request_human", "request_callback", "complain_delivery")]
    report = ev.conversation_report(examples, parsed)
    assert report["request_human_honoured"] == pytest.approx(1 / 3)
    assert report["request_human_handed_off"] == pytest.approx(2 / 3)
