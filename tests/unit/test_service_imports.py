"""The agent service's import structure (bot/service), read from the source with `ast`:

* no import cycle between its modules, and none between its parts api/, console/, webchat/
  (the API may build on the console and the web chat, the console on the web chat; not back);
* no import of bot.* placed inside a function to dodge a cycle (the one exception below says
  why it is not one);
* no import of another module's `_private` names (what is shared is made public).

A cheap guard: a change that needs one of these is a change of the service's shape, to be
made on purpose (move what is shared into a public module both sides may import).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "bot.service"
PARTS = ("api", "console", "webchat")
# (module, imported) inside a function, and why that is not a cycle being dodged.
ALLOWED_LATE = {
    ("bot.service.console.outbox", "bot.tickets.redis_store"): "a SQLite-only deployment never imports redis",
}


def _modules(root: Path) -> Dict[str, Path]:
    base = root / PACKAGE.replace(".", "/")
    found = {}
    for path in sorted(base.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[Tuple[ast.AST, bool]]:
    """Every import statement, and whether it runs at module level (at import time)."""
    def walk(node: ast.AST, top: bool) -> Iterator[Tuple[ast.AST, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, top
            elif isinstance(child, ast.If) and top and _is_type_checking(child):
                continue  # for the type checker only: never imported at run time
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(child, False)
            else:
                yield from walk(child, top)
    return walk(tree, True)


def _targets(node: ast.AST, module: str, is_package: bool, known: Set[str]) -> List[Tuple[str, List[str]]]:
    """(imported module, names taken from it) for one import statement."""
    if isinstance(node, ast.Import):
        return [(alias.name, []) for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    found = [(source, [alias.name for alias in node.names])]
    # `from bot.service.webchat import transcript` imports the module bot.service.webchat.transcript too.
    found += [(f"{source}.{alias.name}", []) for alias in node.names if f"{source}.{alias.name}" in known]
    return found


def _part(module: str) -> str:
    rest = module[len(PACKAGE) + 1:].split(".")
    return rest[0] if rest[0] in PARTS and len(module) > len(PACKAGE) else ""


def _cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One cycle of `graph` as a path (first node repeated at the end), or []."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def problems(root: Path = ROOT) -> List[str]:
    modules = _modules(root)
    known = set(modules)
    graph: Dict[str, Set[str]] = {name: set() for name in modules}
    parts: Dict[str, Set[str]] = {part: set() for part in PARTS}
    found: List[str] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, top in _imports(tree):
            for target, names in _targets(node, module, path.name == "__init__.py", known):
                if not target.startswith("bot."):
                    continue
                where = f"{path.relative_to(root)}:{node.lineno}"
                if not top and (module, target) not in ALLOWED_LATE:
                    found.append(f"{where}: {target} imported inside a function")
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    found.append(f"{where}: imports the private {', '.join(private)} of {target}")
                if top and target in known:
                    graph[module].add(target)
                    mine, theirs = _part(module), _part(target)
                    if mine and theirs and mine != theirs:
                        parts[mine].add(theirs)
    for name, g in (("module", graph), ("api/console/webchat", parts)):
        cycle = _cycle(g)
        if cycle:
            found.append(f"{name} import cycle: {' -> '.join(cycle)}")
    return found


def test_the_agent_service_has_no_import_cycle_and_no_hidden_or_private_imports():
    assert problems() == []


def test_the_guard_sees_a_cycle_a_late_import_and_a_private_name(tmp_path):
    """The check itself: a service where api and console import each other, one of them from
    inside a function and by a private name, is refused on all three counts."""
    service = tmp_path / "bot" / "service"
    for part in ("api", "console"):
        (service / part).mkdir(parents=True)
        (service / part / "__init__.py").write_text("")
    (tmp_path / "bot" / "__init__.py").write_text("")
    (service / "__init__.py").write_text("")
    (service / "api" / "views.py").write_text("from bot.service.console import pages\n\n\ndef _ticket_id():\n    pass\n")
    (service / "console" / "pages.py").write_text(
        "from bot.service.api.views import _ticket_id\n\n\ndef page():\n    from bot.service.api import views\n")
    found = problems(tmp_path)
    assert any("inside a function" in p for p in found)
    assert any("private _ticket_id" in p for p in found)
    assert any(p.startswith("module import cycle") for p in found)
    assert any(p.startswith("api/console/webchat import cycle: api -> console -> api") for p in found)
