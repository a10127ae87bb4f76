"""Console accounts: who may sign in, with which role, and their hashed password.

Hash format (stdlib only, per-user random salt)::

    scrypt$<n>$<r>$<p>$<salt, base64url>$<key, base64url>

`hashlib.scrypt` with n=2**14, r=8, p=1 (about 16 MB and ~50 ms per check). The format has
no ':' or ',' so a hash fits in ``AGENT_ACCOUNTS="alice:<hash>,bob:<hash>:specialist:+44..."``;
quote it with single quotes in a shell (it contains '$').

Accounts come from, in this order:

* ``AGENT_ACCOUNTS_FILE``: YAML ``{agents: [{name, password_hash, role: agent|specialist, phone,
  display_name}]}`` (``display_name``: what customers see, e.g. "Alice Smith"; default: the
  name capitalised)
* ``AGENT_ACCOUNTS``: ``name:hash[:role[:phone]]`` entries separated by commas.

Make a hash with ``python -m bot.service.console.accounts hash`` (asks twice, or reads one line from
stdin when it is not a terminal).
"""
from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, Mapping, Optional

import yaml

ROLES = ("agent", "specialist")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
KEY_LEN = 32
MAX_PASSWORD_LEN = 1024
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_PHONE = re.compile(r"\+[1-9]\d{6,14}")
# Shown to customers as written: letters (any script), spaces and the punctuation of names.
_DISPLAY_NAME = re.compile(r"[^\W\d_](?:[\w .'\-]{0,62}[^\W_])?")
MAX_DISPLAY_NAME = 64


class AccountError(ValueError):
    """The account configuration is not usable; the message says where."""


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str
    role: str = "agent"
    phone: Optional[str] = None  # E.164; where a specialist's outbound callback rings first
    display_name: Optional[str] = None  # what customers see; None: default_display_name(name)

    @property
    def is_specialist(self) -> bool:
        return self.role == "specialist"

    @property
    def shown_name(self) -> str:
        return self.display_name or default_display_name(self.name)


def default_display_name(name: str) -> str:
    """'alice' -> 'Alice': an account name is a login, not how a colleague introduces themselves."""
    return name[:1].upper() + name[1:] if name else name


def display_name_for(accounts: Mapping[str, "Account"], name: str) -> str:
    """The name customers see for `name` (a bearer-token caller may name someone without an account)."""
    account = accounts.get(name)
    return account.shown_name if account is not None else default_display_name(name)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: Optional[bytes] = None) -> str:
    if not isinstance(password, str) or not password:
        raise ValueError("the password must not be empty")
    if len(password) > MAX_PASSWORD_LEN:
        raise ValueError("the password is too long")
    salt = salt or secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                         maxmem=64 * 1024 * 1024, dklen=KEY_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def check_hash_format(password_hash: str) -> None:
    parts = password_hash.split("$") if isinstance(password_hash, str) else []
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
        raise AccountError("password_hash must look like scrypt$16384$8$1$<salt>$<key> "
                           "(make one with `python -m bot.service.console.accounts hash`)")
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2 ** 10 or n > 2 ** 20 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise AccountError("password_hash has unreasonable scrypt parameters")
    try:
        _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, TypeError):
        raise AccountError("password_hash has a malformed salt or key") from None


def verify_password(password: str, password_hash: str) -> bool:
    """Constant-time comparison of the derived key; False (never an exception) on any mismatch."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LEN:
        return False
    try:
        check_hash_format(password_hash)
        _, n, r, p, salt, key = password_hash.split("$")
        expected = _unb64(key)
        derived = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                 maxmem=256 * 1024 * 1024, dklen=len(expected))
    except (AccountError, ValueError):
        return False
    return hmac.compare_digest(derived, expected)


# A real hash to check against when the name is unknown, so that an unknown name takes as
# long as a wrong password (no user enumeration by timing).
@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_login(accounts: Mapping[str, Account], name: str, password: str) -> Optional[Account]:
    """The account if the password is right. Blocking (scrypt): run it in an executor."""
    account = accounts.get(name)
    ok = verify_password(password, account.password_hash if account else _dummy_hash())
    return account if ok and account is not None else None


def _account(name, password_hash, role, phone, where: str, display_name=None) -> Account:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AccountError(f"{where}: name must be 1-64 letters, digits or ._@-")
    try:
        check_hash_format(password_hash)
    except AccountError as exc:
        raise AccountError(f"{where} ({name}): {exc}") from None
    role = role or "agent"
    if role not in ROLES:
        raise AccountError(f"{where} ({name}): role must be one of {list(ROLES)}")
    if phone is not None:
        phone = str(phone).replace(" ", "")
        if not _PHONE.fullmatch(phone):
            raise AccountError(f"{where} ({name}): phone must be in E.164 form, e.g. +447700900123")
    if display_name is not None:
        display_name = " ".join(str(display_name).split())
        if len(display_name) > MAX_DISPLAY_NAME or not _DISPLAY_NAME.fullmatch(display_name):
            raise AccountError(f"{where} ({name}): display_name must be 1-{MAX_DISPLAY_NAME} letters, "
                               "spaces or .'- (customers see it)")
    return Account(name=name, password_hash=password_hash, role=role, phone=phone or None,
                   display_name=display_name or None)


def parse_accounts_env(value: str) -> Dict[str, Account]:
    """``name:hash[:role[:phone]],...``"""
    accounts: Dict[str, Account] = {}
    for index, entry in enumerate(x.strip() for x in value.split(",")):
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) < 2 or len(parts) > 4:
            raise AccountError(f"AGENT_ACCOUNTS entry {index + 1}: expected name:hash[:role[:phone]]")
        name, password_hash = parts[0], parts[1]
        role = parts[2] if len(parts) > 2 else None
        phone = parts[3] if len(parts) > 3 else None
        _add(accounts, _account(name, password_hash, role, phone, f"AGENT_ACCOUNTS entry {index + 1}"))
    return accounts


def parse_accounts_yaml(text: str, where: str = "AGENT_ACCOUNTS_FILE") -> Dict[str, Account]:
    data = yaml.safe_load(text) or {}
    entries = data.get("agents") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise AccountError(f"{where}: expected a mapping with a list under 'agents'")
    accounts: Dict[str, Account] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise AccountError(f"{where}: agents[{index}] must be a mapping")
        _add(accounts, _account(entry.get("name"), entry.get("password_hash"), entry.get("role"),
                                entry.get("phone"), f"{where}: agents[{index}]", entry.get("display_name")))
    return accounts


def _add(accounts: Dict[str, Account], account: Account) -> None:
    if account.name in accounts:
        raise AccountError(f"account {account.name!r} is defined twice")
    accounts[account.name] = account


def load_accounts(env: Mapping[str, str]) -> Dict[str, Account]:
    """Accounts from AGENT_ACCOUNTS_FILE and/or AGENT_ACCOUNTS (a name in both is an error)."""
    accounts: Dict[str, Account] = {}
    path = env.get("AGENT_ACCOUNTS_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise AccountError(f"AGENT_ACCOUNTS_FILE {path}: {exc.strerror}") from None
        accounts.update(parse_accounts_yaml(text, f"AGENT_ACCOUNTS_FILE {path}"))
    if env.get("AGENT_ACCOUNTS"):
        for account in parse_accounts_env(env["AGENT_ACCOUNTS"]).values():
            _add(accounts, account)
    return accounts


def generated_admin() -> tuple[Account, str]:
    """For `make run` with no accounts configured: one 'admin' (agent and specialist)."""
    password = secrets.token_urlsafe(12)
    return Account("admin", hash_password(password), "specialist"), password


# -- CLI ---------------------------------------------------------------------------
def _read_password(stdin: Iterable[str]) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise SystemExit("The two passwords differ.")
        return first
    return next(iter(stdin), "").rstrip("\r\n")


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.service.console.accounts",
                                     description="Console account helpers.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hash", help="print the password_hash for a password (asked for, or one line on stdin)")
    args = parser.parse_args(argv)
    if args.command == "hash":
        password = _read_password(sys.stdin)
        if len(password) < 8:
            print("Use at least 8 characters.", file=sys.stderr)
            return 2
        print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
