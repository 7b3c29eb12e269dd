"""MySQL and MariaDB: DDL that commits, whole-second lock waits, and UPDATE ... CASE
batches (PyMySQL runs an executemany UPDATE row by row)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mailprov.db.backends.base import Backend

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

    from mailprov.db.batch import Batch
    from mailprov.db.tables import Tables
    from mailprov.db.timeouts import Timeouts

CASE_CHUNK = 400  # rows per UPDATE ... CASE statement


class MysqlBackend(Backend):
    name = "mysql"
    default_port = 3306
    # PyMySQL sends parameters inline, so no placeholder limit applies: one IN list for
    # any user count that fits the server's max_allowed_packet (16 MB by default)
    in_chunk = 20_000

    def connect_args(self, url: URL, lock_timeout: float, timeouts: Timeouts
                     ) -> dict[str, Any]:
        # PyMySQL's connect_timeout bounds the TCP connection only: the server's greeting,
        # the login and every answer are reads, bounded by read_timeout.
        return {"connect_timeout": timeouts.connect, "read_timeout": timeouts.statement,
                "write_timeout": timeouts.answer}

    def identity(self, conn: Connection, tables: Tables) -> list[Any]:
        """Where the URL reaches the server, the server's own host name and port, and the
        schema: a copy of production is another schema, the same name on another server,
        or a cloned server reached at another address. (MySQL/MariaDB keep no identifier
        of a schema itself; a table's creation time changes with every ALTER TABLE.)"""
        row = conn.exec_driver_sql("SELECT @@hostname, @@port, DATABASE()").first()
        return [*self.server_address(conn), *row] if row is not None else []

    def lock_wait(self, seconds: float) -> float:
        """innodb_lock_wait_timeout counts whole seconds (at least one)."""
        return float(max(1, math.ceil(seconds)))

    def set_lock_timeout(self, conn: Connection, seconds: float) -> None:
        conn.exec_driver_sql(
            f"SET SESSION innodb_lock_wait_timeout = {int(self.lock_wait(seconds))}")

    def write_batch(self, conn: Connection, tables: Tables, batch: Batch) -> int | None:
        """One UPDATE ... CASE per chunk of CASE_CHUNK rows. SQLAlchemy connects with
        CLIENT.FOUND_ROWS, so the row count is of rows matched, changed or not."""
        from sqlalchemy import case, update

        key = tables.ucol("number")
        key_at = len(batch.fields)
        written = 0
        for start in range(0, len(batch.rows), CASE_CHUNK):
            chunk = batch.rows[start:start + CASE_CHUNK]
            assignments = {}
            for i, field in enumerate(batch.fields):
                column = tables.ucol(field)
                whens = {row[key_at]: row[i] for row in chunk}
                assignments[column] = case(whens, value=key, else_=column)
            result = conn.execute(update(tables.users)
                                  .where(key.in_([row[key_at] for row in chunk]))
                                  .values(assignments))
            written += result.rowcount
        return written

    def prepare_history(self, engine: Engine, tables: Tables) -> None:
        """Create mailprov_history before the apply transaction: DDL here commits any
        open transaction. The existence check comes first because even `CREATE TABLE
        IF NOT EXISTS` waits for the metadata lock of an apply in progress; IF NOT
        EXISTS then covers two first applies racing."""
        from sqlalchemy import inspect
        from sqlalchemy.schema import CreateTable

        with engine.begin() as conn:
            if not inspect(conn).has_table(tables.history.name, schema=tables.mapping.schema):
                conn.execute(CreateTable(tables.history, if_not_exists=True))

    def create_history(self, conn: Connection, tables: Tables) -> None:
        """Done by prepare_history, outside the transaction."""
