"""PostgreSQL: arrays for one-statement reads and writes, and a lock timeout set
per transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailprov.db.backends.base import DriverBackend

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine import URL

    from mailprov.db.batch import Batch
    from mailprov.db.tables import Tables
    from mailprov.db.timeouts import Timeouts


class PostgresqlBackend(DriverBackend):
    name = "postgresql"

    def connect_args(self, url: URL, lock_timeout: float, timeouts: Timeouts
                     ) -> dict[str, Any]:
        # connect_timeout bounds libpq's whole start-up and login (whole seconds, 2 at
        # least); the server cancels a statement after statement_timeout.
        options = f"-c statement_timeout={int(timeouts.statement * 1000)}"
        given = url.query.get("options")
        if isinstance(given, str) and given:
            options = f"{given} {options}"
        return {"connect_timeout": timeouts.connect_whole_seconds, "options": options}

    def set_lock_timeout(self, conn: Connection, seconds: float) -> None:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'")

    def codes_filter(self, tables: Tables, codes: list[str]) -> list[Any]:
        """One array parameter, whatever the number of codes: one query, 3x faster."""
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        column = tables.ucol("code")
        return [column == any_(bindparam("codes", codes, type_=ARRAY(column.type)))]

    def read_user_states(self, conn: Connection, tables: Tables, codes: list[str]
                         ) -> dict[str, list[Any] | None]:
        """One statement with the codes as one array, rows taken as the driver gives them."""
        from sqlalchemy import any_, bindparam, select
        from sqlalchemy.dialects.postgresql import ARRAY

        from mailprov.db.driver import compile_statement, execute
        from mailprov.db.read import STATE_FIELDS, run_query
        from mailprov.plan.digest import user_state_from_row

        def build() -> Any:
            code_col = tables.ucol("code")
            return (select(*(tables.ucol(f) for f in STATE_FIELDS))
                    .where(code_col == any_(bindparam("codes", type_=ARRAY(code_col.type)))))

        statement = compile_statement(conn, build, ["codes"], key=("user states", tables.key))
        rows = run_query(conn, tables, self,
                         lambda: execute(conn, statement, [codes])).fetchall()
        return {row[0]: user_state_from_row(*row[1:]) for row in rows}

    def write_batch(self, conn: Connection, tables: Tables, batch: Batch) -> None:
        """One UPDATE ... FROM unnest(arrays), whatever the row count (a third faster
        than a pipelined executemany at 1,000 rows)."""
        from sqlalchemy import bindparam, cast, func
        from sqlalchemy.dialects.postgresql import ARRAY

        from mailprov.db.batch import update_statement
        from mailprov.db.driver import compile_statement, execute

        names = batch.names

        def build() -> Any:
            types = {name: tables.ucol(name[2:] if name != "k_code" else "code").type
                     for name in names}
            arrays = [cast(bindparam(name), ARRAY(types[name])) for name in names]
            given = func.unnest(*arrays).table_valued(*names).render_derived(name="given")
            return update_statement(tables, batch, lambda name: given.c[name])

        statement = compile_statement(conn, build, names,
                                      key=("update from unnest", tables.key, batch.fields))
        execute(conn, statement, [list(values) for values in zip(*batch.rows, strict=True)])
