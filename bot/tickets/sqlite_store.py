"""SQLite ticket store: one file shared by the Rasa action server and the agent API.

All sqlite3 calls run on a single worker thread that owns the connection, so the
event loop never blocks and calls from one process never interleave inside a
transaction. Across processes, WAL + busy_timeout + BEGIN IMMEDIATE do the work.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, TypeVar

from bot.sqlite_worker import SQLiteWorker
from bot.tickets.ids import TicketIdFormat
from bot.tickets.model import CallbackState, Status, check, iso, utcnow
from bot.tickets.store import SearchCollector, TicketSearch, TicketStore, day_of, index_fields, to_ts

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id             TEXT PRIMARY KEY,
    conversation_id       TEXT,
    status                TEXT,
    priority_score        REAL NOT NULL DEFAULT 0,
    callback_status       TEXT,
    callback_outcome      TEXT,
    callback_pending      INTEGER NOT NULL DEFAULT 0,
    callback_window_start REAL,
    callback_decided_at   REAL,
    issue_key             TEXT,
    created_at            REAL,
    updated_at            REAL,
    doc                   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_conversation ON tickets (conversation_id, created_at);
CREATE INDEX IF NOT EXISTS tickets_status ON tickets (status, created_at);
CREATE INDEX IF NOT EXISTS tickets_handoffs ON tickets (status, priority_score, created_at);
CREATE INDEX IF NOT EXISTS tickets_callbacks ON tickets (callback_pending, callback_window_start);
CREATE INDEX IF NOT EXISTS tickets_issue ON tickets (issue_key, callback_status, callback_decided_at);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets (created_at);
CREATE TABLE IF NOT EXISTS ticket_day_counters (
    day TEXT PRIMARY KEY,
    n   INTEGER NOT NULL
);
"""

COLUMNS = (
    "ticket_id", "conversation_id", "status", "priority_score", "callback_status",
    "callback_outcome", "callback_pending", "callback_window_start", "callback_decided_at",
    "issue_key", "created_at", "updated_at",
)

UPSERT = (
    f"INSERT INTO tickets ({', '.join(COLUMNS)}, doc) VALUES ({', '.join('?' * (len(COLUMNS) + 1))}) "
    f"ON CONFLICT(ticket_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:] + ("doc",))
)


def _setup(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(SCHEMA)


class SQLiteTicketStore(TicketStore):
    def __init__(self, path: str, *, id_format: Optional[TicketIdFormat] = None, prefix: Optional[str] = None) -> None:
        super().__init__(id_format, prefix)
        self.path = path
        self._worker = SQLiteWorker(path, _setup, "tickets-sqlite")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._worker.run(fn)

    @staticmethod
    def _docs(rows) -> List[Dict[str, Any]]:
        return [json.loads(row[0]) for row in rows]

    # -- interface ------------------------------------------------------------
    async def next_ticket_id(self, now: datetime) -> str:
        day = day_of(now)

        def bump(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "INSERT INTO ticket_day_counters (day, n) VALUES (?, 1) "
                    "ON CONFLICT(day) DO UPDATE SET n = n + 1 RETURNING n",
                    (day,),
                ).fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return int(row[0])

        return self.format_id(now, await self._run(bump))

    async def save(self, ticket: Dict[str, Any]) -> Dict[str, Any]:
        if not isinstance(ticket.get("ticket_id"), str) or not ticket["ticket_id"]:
            raise ValueError("ticket needs a ticket_id")
        check(ticket)
        ticket["updated_at"] = iso(utcnow())
        fields = index_fields(ticket)
        params = [fields[c] for c in COLUMNS]
        params[COLUMNS.index("callback_pending")] = int(fields["callback_pending"])
        params.append(json.dumps(ticket, ensure_ascii=False))

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(UPSERT, params)

        await self._run(write)
        return ticket

    async def get(self, ticket_id: str) -> Optional[Dict[str, Any]]:
        def read(conn: sqlite3.Connection):
            return conn.execute("SELECT doc FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone()

        row = await self._run(read)
        return json.loads(row[0]) if row else None

    async def find(
        self, conversation_id: Optional[str] = None, status: Optional[str] = None, limit: int = 100
    ) -> List[Dict[str, Any]]:
        if int(limit) <= 0:
            return []  # SQLite reads a negative LIMIT as "no limit"
        where, args = [], []
        if conversation_id is not None:
            where.append("conversation_id = ?")
            args.append(conversation_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT doc FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, ticket_id DESC LIMIT ?"
        args.append(int(limit))
        return self._docs(await self._run(lambda conn: conn.execute(sql, args).fetchall()))

    async def search(self, search: TicketSearch) -> Dict[str, Any]:
        # The indexed columns narrow the candidates (status, creation time); the rest of the
        # match (category, channel, text) is bot.tickets.store.search_matches on each document,
        # read newest first on the worker thread: at a contact centre's volume (thousands of
        # tickets) a full-text index would cost more in upkeep than this scan.
        where, args = [], []
        if search.status is not None:
            where.append("status = ?")
            args.append(search.status)
        if search.created_from is not None:
            where.append("created_at >= ?")
            args.append(search.created_from)
        if search.created_to is not None:
            where.append("created_at < ?")
            args.append(search.created_to)
        sql = "SELECT doc FROM tickets" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_at DESC, ticket_id DESC"

        def scan(conn: sqlite3.Connection) -> Dict[str, Any]:
            collector = SearchCollector(search)
            cursor = conn.execute(sql, args)
            while True:
                rows = cursor.fetchmany(500)
                if not rows or not collector.add(json.loads(row[0]) for row in rows):
                    break
            cursor.close()
            return collector.result()

        return await self._run(scan)

    async def handoffs(self) -> List[Dict[str, Any]]:
        sql = (
            "SELECT doc FROM tickets WHERE status = ? "
            "ORDER BY priority_score DESC, created_at ASC, ticket_id ASC"
        )
        return self._docs(await self._run(lambda conn: conn.execute(sql, (Status.HANDED_OFF,)).fetchall()))

    async def callbacks(self) -> List[Dict[str, Any]]:
        sql = (
            "SELECT doc FROM tickets WHERE callback_pending = 1 "
            "ORDER BY callback_window_start IS NULL, callback_window_start ASC, ticket_id ASC"
        )
        return self._docs(await self._run(lambda conn: conn.execute(sql).fetchall()))

    async def count_callbacks(self, issue_key: str, since: datetime) -> int:
        sql = (
            "SELECT COUNT(*) FROM tickets WHERE issue_key = ? "
            "AND callback_status = ? AND callback_decided_at >= ?"
        )
        args = (issue_key, CallbackState.OPTED_IN, to_ts(since))
        return int((await self._run(lambda conn: conn.execute(sql, args).fetchone()))[0])

    async def close(self) -> None:
        await self._worker.close()
