"""Smoke test of `make bench`'s load generator (scripts/benchlib): a short open loop
(~3 s of Poisson arrivals at 5 turns/s) of realistic conversations against the really
started product. Every turn must get a reply of the expected kind, with its latency
recorded. No stock baseline is trained here."""
from __future__ import annotations

import asyncio


from scripts.benchlib.conversations import WEB_SCRIPTS, our_factory
from scripts.benchlib.load import open_loop
from scripts.benchlib.stats import percentile


# The shared stack runs the shipped catalog with real opening hours, so leave out the
# script whose callback windows depend on the hour the test runs at.
HOUR_INDEPENDENT = tuple(s for s in WEB_SCRIPTS if "callback" not in s.name)


def test_open_loop_gets_a_reply_for_every_turn_and_records_latencies(live_stack):
    env = live_stack.env
    # The shared stack has no Twilio auth token (every IVR request is refused with 403);
    # phone calls are only played when it has one.
    ivr = bool(env.get("TWILIO_AUTH_TOKEN") and env.get("PUBLIC_URL"))
    factory = our_factory(
        live_stack.rasa_url, env.get("PUBLIC_URL", ""), env.get("TWILIO_AUTH_TOKEN", ""),
        ivr_share=0.3 if ivr else 0.0, web_scripts=HOUR_INDEPENDENT,
    )

    run = asyncio.run(open_loop(factory, rate=5.0, duration=3.0, seed=11, pool=5, turn_timeout=30))

    assert len(run.results) >= 3, "a 3 s Poisson stream at 5/s has turns (seeded)"
    failed = [(r.script, r.kind, r.error) for r in run.results if not r.ok]
    assert not failed, failed
    drifted = [(r.script, r.kind) for r in run.results if r.unexpected]
    assert not drifted, f"replies not the ones the conversation scripts expect: {drifted}"
    latencies = [r.latency for r in run.results]
    assert all(0 < latency < 30 for latency in latencies)
    summary = run.summary("web")
    assert summary["ok"] == summary["turns"] > 0
    assert summary["p50_ms"] is not None and summary["p99_ms"] >= summary["p50_ms"] > 0
    assert percentile(latencies, 95) is not None
    assert run.notes["arrivals"] == len(run.results)
