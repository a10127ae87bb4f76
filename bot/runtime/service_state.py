"""Which of the product's services are up, as the launcher (bot/runtime/launcher.py) sees them.

The launcher writes a small JSON file (LAUNCHER_STATE_FILE, under VAR_DIR) whenever a
service's state changes; `/health` of the agent service reports it, so a monitor sees a
degraded product (the action server being restarted, say) while every page still answers:

    {"status": "ok" | "degraded", "services": {"actions": {"state": "up", "restarts": 1, ...}}}

Without the file (the agent service started on its own) there is nothing to report.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

ENV = "LAUNCHER_STATE_FILE"


def write(path: Path, state: Dict[str, Any]) -> None:
    """Atomically (a reader never sees half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=".services-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current(env: Mapping[str, str] = os.environ) -> Optional[Dict[str, Any]]:
    """The launcher's latest state, or None when there is no launcher state to read."""
    path = env.get(ENV)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def health(env: Mapping[str, str] = os.environ) -> Dict[str, Any]:
    """What a public /health says: ok or degraded, and each service's state and restart
    count (no pids or exit codes: those are for the operator's log)."""
    state = current(env)
    if state is None:
        return {"status": "ok"}
    services = state.get("services") if isinstance(state.get("services"), dict) else {}
    return {
        "status": "ok" if state.get("status") == "ok" else "degraded",
        "services": {name: {"state": s.get("state"), "restarts": s.get("restarts", 0)}
                     for name, s in services.items() if isinstance(s, dict)},
    }
