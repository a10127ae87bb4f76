"""One SQLite connection owned by one worker thread, for async code.

sqlite3 connections must not be shared across threads mid-transaction, and SQLite
serialises writers anyway: one thread per file keeps every statement ordered and the
event loop free. Used by the ticket store and the webhook outbox.
"""
from __future__ import annotations

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, TypeVar

T = TypeVar("T")


class SQLiteWorker:
    def __init__(self, path: str, setup: Callable[[sqlite3.Connection], None], name: str) -> None:
        self.path = path
        self._setup = setup  # pragmas and schema, run once on the fresh connection
        self._name = name
        self._conn: Optional[sqlite3.Connection] = None
        self._executor: Optional[ThreadPoolExecutor] = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._with_conn, fn)

    def _with_conn(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            # isolation_level=None: callers issue BEGIN themselves (IMMEDIATE where they
            # write), so the write lock is taken up front rather than upgraded mid-way.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._setup(conn)
            self._conn = conn
        return fn(self._conn)

    async def close(self) -> None:
        if self._executor is None:
            return

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        # Closed on the worker thread, the only thread that ever touches the connection.
        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=True)
        self._executor = None
