"""`make run`: start the Rasa server, the action server and the agent API together.

Embedded defaults need nothing else running: SQLite for trackers and tickets; with
REDIS_URL set, Rasa's Redis tracker and lock stores and the Redis ticket store are used
instead.

A service that dies is started again after a growing back-off while the others keep
serving (bot/runtime/supervisor.py); `/health` of the agent API says which are up. Ctrl-C (or
SIGTERM) stops all three.

The Rasa server and the action server listen on 127.0.0.1 unless RASA_INTERFACE /
ACTION_SERVER_INTERFACE say otherwise; they start through bot/runtime/rasa_cli.py, which takes
every token from the environment (never the command line). Secrets that are not set are
generated for the run and written to VAR_DIR/secrets.env (mode 0600); only its path is
printed.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple
from urllib.parse import urlparse

from bot.runtime import secrets_file, service_state
from bot.service.console.accounts import hash_password
from bot.runtime.rasa_cli import ServerSettings, connect_host
from bot.runtime.supervisor import Service, Supervisor

ROOT = Path(__file__).resolve().parents[2]
# Masks card numbers and the catalog's sensitive patterns in every log record (bot/privacy.py).
LOGGING_CONFIG = str(ROOT / "bot" / "runtime" / "logging_config.yml")
DEFAULT_REDIS_WORKERS = 2


def environment() -> Dict[str, str]:
    env = dict(os.environ)
    var = Path(env.get("VAR_DIR") or ROOT / "var")
    var.mkdir(parents=True, exist_ok=True)
    env.setdefault("RASA_PORT", "5005")
    env.setdefault("ACTION_PORT", "5055")
    env.setdefault("AGENT_API_PORT", "8080")
    settings = ServerSettings.from_env(env)
    # Derived from the ports, not inherited: a second stack (tests, benchmarks) must
    # never talk to the first one's servers.
    # An address, not "localhost": Rasa resolved the name again for every action call.
    env["ACTION_ENDPOINT_URL"] = f"http://{connect_host(settings.action_interface)}:{env['ACTION_PORT']}/webhook"
    env.setdefault("RASA_TRACKER_DB", str(var / "rasa_tracker.db"))
    env.setdefault("TICKETS_DB", str(var / "tickets.db"))
    env["RASA_URL"] = f"http://{connect_host(settings.rasa_interface)}:{env['RASA_PORT']}"
    # Per stack (tests run several in one VAR_DIR's parent): the agent API's /health reads it.
    env[service_state.ENV] = str(var / f"services-{env['AGENT_API_PORT']}.json")
    generate_secrets(env, var)
    if env.get("REDIS_URL"):
        url = urlparse(env["REDIS_URL"])
        env.setdefault("REDIS_HOST", url.hostname or "localhost")
        env.setdefault("REDIS_PORT", str(url.port or 6379))
        env.setdefault("REDIS_DB", (url.path or "/0").lstrip("/") or "0")
        env.setdefault("REDIS_PASSWORD", url.password or "")
        # Redis holds every conversation's lock, so several Sanic workers can share the
        # Rasa port (Rasa allows more than one only with a shared lock store). make bench:
        # 2 workers on these 2 cores served 1.6x the turns of one.
        env.setdefault("SANIC_WORKERS", str(DEFAULT_REDIS_WORKERS))
    if _workers(env) > 1:
        # Each worker counts its own turns; /metrics adds up every worker's (bot/rasa_ext/metrics.py).
        metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or var / f"prometheus-{env['RASA_PORT']}")
        shutil.rmtree(metrics_dir, ignore_errors=True)  # a previous run's counts are not this one's
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env.setdefault("PYTHONPATH", str(ROOT))
    return env


def _workers(env: Dict[str, str]) -> int:
    try:
        return int(env.get("SANIC_WORKERS") or 1)
    except ValueError:
        return 1


# name -> what it unlocks; generated for the run when not set in the environment.
SECRETS = {
    "AGENT_API_TOKEN": "bearer token of the agent API (/api)",
    "RASA_TOKEN": "token of Rasa's HTTP API (?token=)",
    "ACTION_SERVER_TOKEN": "shared secret between the Rasa server and the action server",
    "METRICS_TOKEN": "bearer token of GET /metrics on the Rasa port",
}
ADMIN_PASSWORD = "CONSOLE_ADMIN_PASSWORD"


def generate_secrets(env: Dict[str, str], var: Path) -> None:
    """Fills in every secret the environment lacks; writes the generated ones to
    var/secrets.env (0600) and prints only that path, never a value."""
    generated: Dict[str, str] = {}
    for name in SECRETS:
        if not env.get(name):
            env[name] = generated[name] = secrets.token_urlsafe(24)
    if not env.get("AGENT_ACCOUNTS") and not env.get("AGENT_ACCOUNTS_FILE"):
        # The console's one account for a plain `make run`. Made here rather than by the agent
        # API so the password survives a restart of that service, and only its hash is in the
        # environment.
        generated[ADMIN_PASSWORD] = secrets.token_urlsafe(12)
        env["AGENT_ACCOUNTS"] = f"admin:{hash_password(generated[ADMIN_PASSWORD])}:specialist"
    if generated:
        notes = {**SECRETS, ADMIN_PASSWORD: "password of the console account 'admin' (agent and specialist)"}
        path = secrets_file.write(var, generated, notes)
        print(f"Generated for this run ({', '.join(generated)}): see {path} (readable only by you)", flush=True)


def commands(env: Dict[str, str]) -> List[List[str]]:
    endpoints = "endpoints.redis.yml" if env.get("REDIS_URL") else "endpoints.yml"
    # Rasa's own CLI, run by bot/runtime/rasa_cli.py: tokens come from the environment (`ps` shows
    # every command line), the servers listen on loopback unless configured otherwise.
    rasa = [sys.executable, "-m", "bot.runtime.rasa_cli"]
    return [
        [*rasa, "run", "actions", "--actions", "actions", "--port", env["ACTION_PORT"],
         "--logging-config-file", LOGGING_CONFIG],
        [
            *rasa, "run", "--model", env.get("RASA_MODEL", "models/complaints.tar.gz"),
            "--port", env["RASA_PORT"], "--endpoints", endpoints, "--credentials",
            env.get("RASA_CREDENTIALS", "credentials.yml"), "--enable-api",
            "--logging-config-file", LOGGING_CONFIG,
        ],
        [sys.executable, "-m", "bot.service"],
    ]


def health_urls(env: Dict[str, str]) -> Tuple[str, str, str]:
    settings = ServerSettings.from_env(env)
    return (
        f"http://{connect_host(settings.action_interface)}:{env['ACTION_PORT']}/health",
        f"{env['RASA_URL']}/status?token={env['RASA_TOKEN']}",
        f"http://127.0.0.1:{env['AGENT_API_PORT']}/health",
    )


def _seconds(env: Dict[str, str], name: str, default: float) -> float:
    try:
        return max(0.0, float(env.get(name) or default))
    except ValueError:
        return default


def supervisor(env: Dict[str, str]) -> Supervisor:
    names = ("actions", "rasa", "agent_api")
    services = [Service(name, cmd, url) for name, cmd, url in zip(names, commands(env), health_urls(env))]
    return Supervisor(
        services, env, ROOT, state_path=Path(env[service_state.ENV]),
        backoff_s=_seconds(env, "RESTART_BACKOFF_SECONDS", 1.0),
        backoff_max_s=_seconds(env, "RESTART_BACKOFF_MAX_SECONDS", 30.0),
    )


class _Stop(Exception):
    pass


def _raise_stop(*_):
    raise _Stop()


def main() -> int:
    started = time.monotonic()
    env = environment()
    sup = supervisor(env)
    signal.signal(signal.SIGTERM, _raise_stop)
    ready_timeout = float(env.get("READY_TIMEOUT", "180"))
    announced = False
    try:
        sup.start_all()
        while sup.failed is None:
            sup.poll()
            if not announced and sup.all_up():
                announced = True
                print(
                    f"\nReady in {time.monotonic() - started:.1f}s:\n"
                    f"  Rasa REST channel  {env['RASA_URL']}/webhooks/rest/webhook\n"
                    f"  Action server      {sup.services[0].health_url}\n"
                    f"  Agent API          http://localhost:{env['AGENT_API_PORT']}/api/handoffs "
                    f"(Authorization: Bearer $AGENT_API_TOKEN)\n"
                    f"  Agent console      http://localhost:{env['AGENT_API_PORT']}/console   Web chat  http://localhost:{env['AGENT_API_PORT']}/chat\n",
                    flush=True,
                )
            elif not announced and time.monotonic() - started > ready_timeout:
                announced = True
                print("Not every service became ready; see the log above.", flush=True)
            time.sleep(0.5)
        print(f"{sup.failed}; stopping the others.", flush=True)
        return 1
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        # Ctrl-C reaches only the launcher (each service has its own process group).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sup.stop_all()


if __name__ == "__main__":
    sys.exit(main())
