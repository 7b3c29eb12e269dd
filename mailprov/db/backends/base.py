"""The generic behaviour every database backend starts from: SQLAlchemy's own
execution, executemany for batches, transactional DDL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Select, Table
    from sqlalchemy.engine import URL

    from mailprov.db.batch import Batch
    from mailprov.db.tables import Tables
    from mailprov.db.timeouts import Timeouts

IN_CHUNK = 500  # values per IN list: under every dialect's parameter limit (MSSQL: 2,100)


class Backend:
    """What differs between databases. Subclasses override what their database does
    differently or faster; the base is correct on any SQLAlchemy dialect."""

    name = "generic"
    # Hot statements compiled once per process and run through exec_driver_sql with
    # plain tuples (mailprov.db.driver): only for drivers that take and return
    # mailprov's values as they are, and that the test suite runs for real.
    driver_statements = False

    # --- engine ----------------------------------------------------------------

    def connect_args(self, url: URL, lock_timeout: float, timeouts: Timeouts
                     ) -> dict[str, Any]:
        """Driver arguments: bounded waits for connecting, answers and (per backend)
        locks; see mailprov.db.timeouts."""
        return {}

    def configure_engine(self, engine: Engine) -> None:
        """Engine events this database needs (none by default)."""

    # --- identity ------------------------------------------------------------------

    def server_address(self, conn: Connection) -> list[Any]:
        """The host and port the target's URL reaches the server at. A backup restored
        on a cloned machine keeps the server's own names (host name, cluster id); the
        address it is reached at is what tells it apart, at the price of one more refusal
        when the same server is reached under another name."""
        url = conn.engine.url
        return [(url.host or "").lower(), url.port or self.default_port]

    default_port = 0

    def identity(self, conn: Connection, tables: Tables) -> list[Any]:
        """What tells this database apart from any other, a copy included, read from the
        server (not from the URL, which may name the same database several ways).
        Empty when the backend knows nothing better than the URL."""
        return []

    # --- locks -------------------------------------------------------------------

    def lock_wait(self, seconds: float) -> float:
        """How long a lock wait of `seconds` really lasts on this database."""
        return seconds

    def set_lock_timeout(self, conn: Connection, seconds: float) -> None:
        """Bound how long statements of this transaction wait for another's locks."""

    def is_lock_error(self, exc: Any) -> bool:
        """Did the database give up waiting for a lock another session holds?"""
        orig = getattr(exc, "orig", exc)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if sqlstate == "55P03":
            return True
        args = getattr(orig, "args", ())
        if args and args[0] in (1205, 1222):
            return True
        text = str(orig).lower()
        return ("database is locked" in text or "lock wait timeout" in text
                or "lock request time out period exceeded" in text)

    def lock_rows(self, query: Select[Any], table: Table) -> Select[Any]:
        """`query` made to lock the rows it reads until the transaction ends."""
        return query.with_for_update()

    # --- reads and writes ------------------------------------------------------------

    in_chunk = IN_CHUNK

    def in_filter(self, column: Any, values: list[Any]) -> list[Any]:
        """WHERE clauses selecting the rows whose `column` is in `values`: one IN list
        per `in_chunk` values."""
        step = self.in_chunk
        return [column.in_(values[start:start + step]) for start in range(0, len(values), step)]

    def lock_user_rows(self, conn: Connection, tables: Tables, numbers: list[int]) -> None:
        """Lock the user rows `numbers` until the transaction ends (the rows apply will
        write): a concurrent edit of one either committed before (and is seen by the
        re-read that follows) or waits for apply to finish."""
        from sqlalchemy import select

        from mailprov.db.read import run_query

        key = tables.ucol("number")
        for where in self.in_filter(key, numbers):
            query = self.lock_rows(select(key).where(where), tables.users)
            run_query(conn, tables, self, query).all()

    def read_row_states(self, conn: Connection, tables: Tables, numbers: list[int] | None
                        ) -> list[tuple[Any, ...]]:
        """The stored rows (Tables.state_fields) of the users `numbers` (None: every
        user), for apply's re-check (mailprov.plan.digest)."""
        from sqlalchemy import select

        from mailprov.db.read import run_query

        query = select(*(tables.ucol(f) for f in tables.state_fields))
        queries = [query] if numbers is None else [
            query.where(where) for where in self.in_filter(tables.ucol("number"), numbers)]
        return [tuple(row) for one in queries for row in run_query(conn, tables, self, one)]

    def write_batch(self, conn: Connection, tables: Tables, batch: Batch) -> int | None:
        """One batch of user rows: SQLAlchemy's executemany. Returns the rows written,
        or None when the driver cannot say."""
        from sqlalchemy import bindparam

        from mailprov.db.batch import update_statement

        names = batch.names
        result = conn.execute(update_statement(tables, batch, bindparam),
                              [dict(zip(names, row, strict=True)) for row in batch.rows])
        return result.rowcount if conn.dialect.supports_sane_multi_rowcount else None

    # --- history DDL -------------------------------------------------------------------

    def prepare_history(self, engine: Engine, tables: Tables) -> None:
        """Work before the apply transaction (only where DDL is not transactional)."""

    def create_history(self, conn: Connection, tables: Tables) -> None:
        """Create mailprov_history inside the apply transaction, under its lock, so two
        first applies cannot race to create it."""
        tables.history.create(conn, checkfirst=True)


class DriverBackend(Backend):
    """A backend whose hot statements run through the driver directly (see
    mailprov.db.driver): compiled once per process, parameters as plain tuples."""

    driver_statements = True

    def create_history(self, conn: Connection, tables: Tables) -> None:
        """One compiled CREATE TABLE IF NOT EXISTS: no catalogue query first."""
        from sqlalchemy.schema import CreateTable

        from mailprov.db.driver import compile_statement, execute

        statement = compile_statement(
            conn, lambda: CreateTable(tables.history, if_not_exists=True), [],
            key=("create history", tables.key))
        execute(conn, statement, [])
