"""One class per database: everything that differs between SQLite, PostgreSQL,
MySQL/MariaDB and SQL Server, chosen once when a target is opened (as alembic
chooses its DefaultImpl per dialect). The flows in mailprov.db (read, write,
history) call these methods and never test the dialect themselves.
"""

from __future__ import annotations

from mailprov.db.backends.base import Backend

__all__ = ["Backend", "backend_for"]

_MODULES = {
    "sqlite": ("mailprov.db.backends.sqlite", "SqliteBackend"),
    "postgresql": ("mailprov.db.backends.postgresql", "PostgresqlBackend"),
    "mysql": ("mailprov.db.backends.mysql", "MysqlBackend"),
    "mariadb": ("mailprov.db.backends.mysql", "MysqlBackend"),
    "mssql": ("mailprov.db.backends.mssql", "MssqlBackend"),
}
_CHOSEN: dict[str, Backend] = {}


def backend_for(backend_name: str) -> Backend:
    """The backend for a SQLAlchemy backend name (`url.get_backend_name()` or
    `dialect.name`); an unknown database gets the generic base behaviour.
    Only the module of the database in use is imported."""
    backend = _CHOSEN.get(backend_name)
    if backend is None:
        entry = _MODULES.get(backend_name)
        if entry is None:
            backend = Backend()
        else:
            from importlib import import_module

            module, cls = entry
            backend = getattr(import_module(module), cls)()
        _CHOSEN[backend_name] = backend
    return backend
