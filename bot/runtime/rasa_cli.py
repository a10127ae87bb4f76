"""`python -m bot.runtime.rasa_cli run ...` / `python -m bot.runtime.rasa_cli run actions ...`: Rasa's own
CLI (`rasa run`, `rasa run actions`, same arguments, same logging set-up), run in this
process so that what a public deployment must not do by default it doesn't:

- the Rasa server's HTTP API token comes from RASA_TOKEN in the environment, never from the
  command line (`--auth-token` is refused: any local user reads command lines with `ps`);
  with `--enable-api` and no token it refuses to start rather than serve an open API;
- the Rasa server listens on RASA_INTERFACE (default 127.0.0.1) unless `--interface` is
  given: its API reads and writes every conversation and can load a model, so only
  `/webhooks/*` is to be exposed, through a reverse proxy;
- CORS: only the origins in RASA_CORS_ORIGINS (none by default), not `*`, which Rasa answers
  with the caller's own Origin and credentials allowed;
- request bodies: at most RASA_MAX_BODY_BYTES (256 KiB) on every route (Sanic's default is
  100 MB, read before any handler looks at it: the IVR's and Socket.IO's routes included;
  the REST channel streams its body and keeps its own 16 KB limit);
- the action server listens on ACTION_SERVER_INTERFACE (default 127.0.0.1) and answers 401
  to any call without ACTION_SERVER_TOKEN (bot/runtime/action_server_auth.py); it refuses to start
  without a token.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import List, Mapping, Optional

LOOPBACK = "127.0.0.1"
DEFAULT_MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class ServerSettings:
    rasa_token: Optional[str] = None               # RASA_TOKEN
    rasa_interface: str = LOOPBACK                 # RASA_INTERFACE
    cors_origins: Optional[List[str]] = None       # RASA_CORS_ORIGINS, comma or space separated
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES   # RASA_MAX_BODY_BYTES
    action_token: Optional[str] = None             # ACTION_SERVER_TOKEN
    action_interface: str = LOOPBACK               # ACTION_SERVER_INTERFACE

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "ServerSettings":
        origins = [o for o in (env.get("RASA_CORS_ORIGINS") or "").replace(",", " ").split() if o]
        raw_max = (env.get("RASA_MAX_BODY_BYTES") or "").strip()
        if raw_max and (not raw_max.isdigit() or int(raw_max) < 1024):
            raise ValueError("RASA_MAX_BODY_BYTES must be a whole number of bytes, at least 1024")
        return cls(
            rasa_token=env.get("RASA_TOKEN") or None,
            rasa_interface=(env.get("RASA_INTERFACE") or "").strip() or LOOPBACK,
            cors_origins=origins or None,
            max_body_bytes=int(raw_max) if raw_max else DEFAULT_MAX_BODY_BYTES,
            action_token=env.get("ACTION_SERVER_TOKEN") or None,
            action_interface=(env.get("ACTION_SERVER_INTERFACE") or "").strip() or LOOPBACK,
        )


def connect_host(interface: str) -> str:
    """The address a client on this machine uses to reach a server bound to `interface`."""
    return LOOPBACK if interface in ("", "0.0.0.0", "::", "localhost") else interface


def _has_flag(argv: List[str], flags: tuple) -> bool:
    return any(arg in flags or any(arg.startswith(f"{flag}=") for flag in flags if flag.startswith("--"))
               for arg in argv)


def _token_on_command_line(argv: List[str]) -> bool:
    # argparse also takes abbreviations (--auth) and -tVALUE.
    return any(arg.startswith("--auth") or (arg.startswith("-t") and not arg.startswith("--")) for arg in argv)


def _prepare_rasa_server(settings: ServerSettings, argv: List[str]) -> Optional[str]:
    import rasa.cli.run as cli_run
    import rasa.core.run as core_run

    if "--enable-api" in argv and not settings.rasa_token:
        return "RASA_TOKEN must be set in the environment (the HTTP API would be open to anyone)"
    interface_given = _has_flag(argv, ("--interface", "-i"))
    run_command = cli_run.run
    configure_app = core_run.configure_app

    def run(args):  # rasa.cli.run.run: what `rasa run` calls with the parsed arguments
        args.auth_token = settings.rasa_token
        args.cors = settings.cors_origins
        if not interface_given:
            args.interface = settings.rasa_interface
        return run_command(args)

    def limited_app(*args, **kwargs):  # serve_application builds its Sanic app here
        app = configure_app(*args, **kwargs)
        app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
        return app

    # Patched before rasa's argument parser is built: it binds `run` as the command then.
    cli_run.run = run
    core_run.configure_app = limited_app
    return None


def _prepare_action_server(settings: ServerSettings) -> Optional[str]:
    # Imported only when this process is the action server: the Rasa server never loads rasa-sdk.
    import rasa_sdk.endpoint as endpoint

    from bot.runtime import action_server_auth

    if not settings.action_token:
        return "ACTION_SERVER_TOKEN must be set in the environment (anyone could run the actions)"
    # rasa_sdk.endpoint.run binds to SANIC_HOST (default 0.0.0.0): every interface.
    os.environ["SANIC_HOST"] = settings.action_interface
    create_app = endpoint.create_app

    def authenticated_app(*args, **kwargs):
        app = create_app(*args, **kwargs)
        action_server_auth.install(app, settings.action_token)
        return app

    endpoint.create_app = authenticated_app
    return None


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _token_on_command_line(argv):
        print("bot.runtime.rasa_cli: pass the token as RASA_TOKEN in the environment, not on the command line "
              "(any local user can read command lines)", file=sys.stderr)
        return 2
    try:
        settings = ServerSettings.from_env()
    except ValueError as error:
        print(f"bot.runtime.rasa_cli: {error}", file=sys.stderr)
        return 2
    if argv[:2] == ["run", "actions"]:
        problem = _prepare_action_server(settings)
    elif argv[:1] == ["run"]:
        problem = _prepare_rasa_server(settings, argv)
    else:
        problem = "usage: python -m bot.runtime.rasa_cli run [rasa run arguments] | run actions [arguments]"
    if problem:
        print(f"bot.runtime.rasa_cli: {problem}", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *argv]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
