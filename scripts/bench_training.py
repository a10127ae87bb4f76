"""Training time from scratch, as a ratio against a baseline revision in the same run.

    .venv/bin/python scripts/bench_training.py [--baseline REV] [--rounds N]

Trains this working tree and REV (default HEAD, checked out in a temporary worktree) one after
the other, N times each, alternating, each with an empty Rasa cache and its own output
directory, and prints the wall time, CPU time and peak memory of each run, the medians, and the
ratio of the medians. Nothing else should run meanwhile: this machine's speed varies from run to
run by ±15 %, which the alternation and the medians are there to absorb (issue 12: training ≤ 60 s
on two cores).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv" / "bin" / "rasa"
ENV = {"ACTION_ENDPOINT_URL": "http://localhost:5055/webhook", "ACTION_SERVER_TOKEN": "unused-offline"}


def train_once(tree: Path, scratch: Path) -> dict:
    scratch.mkdir(parents=True)
    env = {**os.environ, **ENV, "RASA_CACHE_DIRECTORY": str(scratch / "cache"),
           "RASA_TRACKER_DB": str(scratch / "tracker.db")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(RASA), "train", "--skip-validation", "--fixed-model-name", "bench", "--out", str(scratch)],
                   cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.baseline], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            runs = {"baseline": [], "this tree": []}
            for i in range(args.rounds):
                for label, tree in (("baseline", base), ("this tree", ROOT)):
                    run = train_once(tree, Path(tmp) / f"{label.replace(' ', '_')}-{i}")
                    runs[label].append(run)
                    print(f"{label:10} round {i + 1}: {run['wall']:6.1f} s wall, {run['cpu']:6.1f} s CPU", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    medians = {label: statistics.median(r["wall"] for r in rs) for label, rs in runs.items()}
    for label, rs in runs.items():
        print(f"{label:10} median {medians[label]:6.1f} s wall, {statistics.median(r['cpu'] for r in rs):6.1f} s CPU")
    print(f"this tree / baseline: x{medians['this tree'] / medians['baseline']:.2f} (wall, medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
