"""One Rasa server with several Sanic workers, as `make run` starts it when REDIS_URL is set:
both workers take turns, conversations stay whole whichever worker takes a message, and
/metrics counts every worker's turns whichever worker answers the scrape."""
from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Set

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts.benchlib.procs import children
from tests.support.cluster import Cluster, port_of, say, scrape_metrics
from tests.support.live import buttons, texts
from tests.support.tickets import TICKET_ID



@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_url):
    var = tmp_path_factory.mktemp("workers")
    nodes = Cluster.on_redis(var, redis_url, f"workers-{uuid.uuid4().hex[:8]}:", workers=None)
    actions = nodes.action_server("actions")
    rasa = nodes.rasa_server("rasa", port_of(actions))
    with nodes.running():
        yield rasa


def turns_counted(rasa) -> float:
    body = scrape_metrics(rasa)
    return sum(s.value for f in text_string_to_metric_families(body) for s in f.samples
               if s.name == "complaints_turns_total" and s.labels.get("outcome") == "ok")


def worker_pids_with_turns(rasa) -> Set[int]:
    """Workers that have counted a turn: each writes its own multiprocess metrics file."""
    metrics_dir = Path(rasa.env["PROMETHEUS_MULTIPROC_DIR"])
    return {int(m.group(1)) for m in (re.search(r"_(\d+)\.db$", p.name) for p in metrics_dir.iterdir()) if m}


def test_both_workers_take_turns_and_metrics_add_them_up(server):
    workers = children(server.proc.pid)
    assert len(workers) >= 2, f"expected Sanic worker processes under {server.proc.pid}, found {workers}"
    before = turns_counted(server)
    sent = 0
    # Customers at the same moment, each on a new connection: an idle worker takes the next
    # one while the other is busy. The workers share one listening socket, so on a loaded
    # machine one of them can win a whole batch; keep sending batches (a bounded number)
    # until the second worker has taken a turn. A launcher that ran one worker fails above,
    # one whose second worker never answers fails below.
    for _ in range(8):
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda n: say(server, f"workers-{uuid.uuid4()}", "hi"), range(30)))
        assert all(answers), "every customer gets an answer"
        sent += len(answers)
        if len(worker_pids_with_turns(server) & set(workers)) >= 2:
            break
    assert len(worker_pids_with_turns(server) & set(workers)) >= 2, "both workers took turns"
    counted = [turns_counted(server) - before for _ in range(6)]
    assert counted == [sent] * 6, "every scrape, whichever worker answers it, counts every worker's turns"


def test_a_complaint_is_whole_whichever_worker_takes_each_message(server):
    sender = f"workers-{uuid.uuid4()}"
    replies = say(server, sender, "hello, my parcel ord 4400918 is 5 days late and nobody tells me anything")
    assert "order ORD-4400918" in texts(replies)
    replies = say(server, sender, "/affirm")
    assert "What we will do:" in texts(replies)
    replies = say(server, sender, buttons(replies)[0]["payload"])
    assert TICKET_ID.search(texts(replies)), "the complaint is recorded with a reference"
