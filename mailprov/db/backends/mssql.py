"""SQL Server through pyodbc: an update-lock hint instead of FOR UPDATE, and a lock
timeout in milliseconds. Compile-tested only (no SQL Server in the test suite)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailprov.db.backends.base import Backend

if TYPE_CHECKING:
    from sqlalchemy import Connection, Select, Table
    from sqlalchemy.engine import URL

    from mailprov.db.tables import Tables
    from mailprov.db.timeouts import Timeouts


class MssqlBackend(Backend):
    name = "mssql"

    def connect_args(self, url: URL, lock_timeout: float, timeouts: Timeouts
                     ) -> dict[str, Any]:
        # pyodbc's login timeout; ODBC query timeouts are set per connection, not here
        return {"timeout": max(1, round(timeouts.connect))}

    def identity(self, conn: Connection, tables: Tables) -> list[Any]:
        """The server's name, the database's id and creation date (a restored copy is
        created anew)."""
        from sqlalchemy import text

        row = conn.execute(text(
            "SELECT @@SERVERNAME, DB_NAME(), CAST(DB_ID() AS varchar(12)), "
            "CONVERT(varchar(30), create_date, 126) FROM sys.databases "
            "WHERE database_id = DB_ID()")).first()
        return list(row) if row is not None else []

    def set_lock_timeout(self, conn: Connection, seconds: float) -> None:
        conn.exec_driver_sql(f"SET LOCK_TIMEOUT {int(seconds * 1000)}")

    def lock_rows(self, query: Select[Any], table: Table) -> Select[Any]:
        # SQL Server has no FOR UPDATE (SQLAlchemy drops it): an update lock hint instead
        hinted: Select[Any] = query.with_for_update().with_hint(
            table, "WITH (UPDLOCK, ROWLOCK)", "mssql")
        return hinted
