"""Rasa 3.6's predict graph, run node after node instead of through dask.

Every turn runs the model graph about 3.4 times (NLU once, the policies 2-3 times). Each run
of `DaskGraphRunner.run` walked the graph's dependencies recursively (no memo), rebuilt a dask
graph and had dask's scheduler order it: 6 % of the Rasa server's CPU per turn (py-spy, make
bench) to order the same dozen nodes the same way. The order is a function of the targets:
it is computed once per set of targets, and the nodes are called in it with exactly the
arguments dask gave them (a `(name, output)` pair per parent; an input as `(name, value)`;
a need nobody provides, its bare name, which the node reports as unresolved).

Replaces (Rasa 3.6.21): `rasa.engine.runner.dask.DaskGraphRunner.run`; reads its private
`_graph_schema` and `_instantiated_nodes`.
Proven equal to dask's: tests/unit/test_graph_runner.py (NLU and dialogue predictions).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

from bot.rasa_ext.patches.patching import rasas, replace

_ORDERS = "_complaints_run_orders"
ORIGINAL_RUN = rasas(DaskGraphRunner, "run")  # Rasa's, kept for comparison (tests)


def run_order(runner: DaskGraphRunner, targets: Tuple[Text, ...]) -> List[Text]:
    """The nodes the targets depend on, each after everything it needs (depth first)."""
    orders: Dict[Tuple[Text, ...], List[Text]] = runner.__dict__.setdefault(_ORDERS, {})
    if targets not in orders:
        nodes = runner._graph_schema.nodes
        order: List[Text] = []
        seen = set()

        def visit(name: Text) -> None:
            if name in seen or name not in nodes:
                return
            seen.add(name)
            for need in nodes[name].needs.values():
                visit(need)
            order.append(name)

        for target in targets:
            visit(target)
        orders[targets] = order
    return orders[targets]


def run(self: DaskGraphRunner, inputs: Optional[Dict[Text, Any]] = None,
        targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    order = run_order(self, run_targets)
    results: Dict[Text, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and value in order:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names "
                f"passed to the `run` method are the same as node names in the graph schema."
            )
        results[name] = (name, value)
    nodes = self._graph_schema.nodes
    try:
        for name in order:
            if name in results:  # an input of that name replaces the node, as in dask
                continue
            needs = nodes[name].needs.values()
            results[name] = self._instantiated_nodes[name](*(results.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results[target] for target in run_targets)


def install() -> None:
    replace(DaskGraphRunner, "run", lambda _: run)
