"""Database connections: SQLite (WAL) by default, PostgreSQL by URL; migrations by Alembic.

SQLite notes (why the set-up below): the file is shared by the web process and the job worker
process, so it runs in WAL mode (readers never block the writer) with a busy timeout; write
transactions start with ``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of
failing half-way when a read lock cannot be upgraded; writers of one process additionally queue
on a thread lock so they never spin in SQLite's sleeping busy handler. ``synchronous=NORMAL`` in
WAL mode keeps every committed transaction across a process crash (a power loss may lose the
last ones, never corrupt the file).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, CursorResult, Engine, Result, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from grid_models.errors import InputError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DATABASE_ENV = "GRIDSCHEME_DATABASE_URL"
DATA_DIR_ENV = "GRIDSCHEME_DATA_DIR"
SQLITE_FILE = "gridscheme.db"
# PostgreSQL advisory lock key held while migrating (two servers starting at once).
_MIGRATION_LOCK = 7_312_020_508


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched.

    ``Session.execute`` is typed to return a ``Result``; for a DML statement it is a
    ``CursorResult``, the one that carries ``rowcount`` (the cast SQLAlchemy 2.0 documents).
    """
    return cast(CursorResult[Any], result).rowcount


def default_data_dir() -> Path:
    """``$GRIDSCHEME_DATA_DIR``, else ``$XDG_DATA_HOME/gridscheme`` (``~/.local/share/gridscheme``)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gridscheme"


def resolve_database_url(url: str | None, data_dir: Path) -> str:
    """The database URL to use: ``url``, else ``$GRIDSCHEME_DATABASE_URL``, else SQLite in ``data_dir``.

    ``postgresql://`` and ``postgres://`` URLs are mapped to the psycopg 3 driver.
    """
    url = url or os.environ.get(DATABASE_ENV) or f"sqlite:///{Path(data_dir) / SQLITE_FILE}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    """Engines and sessions of one database.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/to/file.db`` or ``postgresql+psycopg://user:pw@host/db``.

    Raises
    ------
    InputError
        The URL cannot be parsed, names an unsupported backend, or an in-memory SQLite database
        (the job worker runs in another process and must see the same data).
    """

    def __init__(self, url: str) -> None:
        try:
            u: URL = make_url(url)
        except ArgumentError:
            raise InputError(f"--database: {url!r} is not a database URL; use "
                             "sqlite:///FILE.db or postgresql://USER:PASSWORD@HOST/DB",
                             field="database") from None
        self.url = u
        self.backend = u.get_backend_name()
        if self.backend == "sqlite":
            if not u.database or u.database == ":memory:":
                raise InputError("--database: an in-memory SQLite database cannot be shared with "
                                 "the job worker; give a file (sqlite:///FILE.db)", field="database")
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self._write_engine = self._sqlite_engine(u, immediate=True)
            self._read_engine = self._sqlite_engine(u, immediate=False)
            self._write_lock: contextlib.AbstractContextManager = _ThreadLock()
        elif self.backend == "postgresql":
            try:
                eng = sa.create_engine(u, pool_pre_ping=True, pool_size=8, max_overflow=8)
            except ModuleNotFoundError as exc:
                raise InputError(f"--database: the PostgreSQL driver is not installed ({exc}); "
                                 "pip install 'psycopg[binary]'", field="database") from None
            self._write_engine = self._read_engine = eng
            self._write_lock = contextlib.nullcontext()
        else:
            raise InputError(f"--database: unsupported database {self.backend!r}; use SQLite or "
                             "PostgreSQL", field="database")
        self._sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(bind=self._read_engine, expire_on_commit=False)

    @staticmethod
    def _sqlite_engine(u: URL, immediate: bool) -> Engine:
        eng = sa.create_engine(u, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(eng, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            # The driver's own transaction handling is off; we emit BEGIN ourselves below.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(eng, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return eng

    @property
    def display_url(self) -> str:
        """The URL with any password hidden."""
        return self.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on error."""
        with self._write_lock, self._sessions.begin() as s:
            yield s

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; closing it ends its transaction (loaded objects stay usable)."""
        with self._read_sessions() as s:
            yield s

    def ping(self) -> None:
        """Run ``SELECT 1`` (raises when the database is unreachable)."""
        with self._read_engine.connect() as c:
            c.execute(sa.text("SELECT 1"))

    # ------------------------------------------------------------------ migrations
    def alembic_config(self) -> Config:
        """The Alembic configuration of the service's migrations."""
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; safe on a fresh database)."""
        from alembic import command

        cfg = self.alembic_config()
        with self._write_lock, self._write_engine.connect() as conn:
            if self.backend == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                if self.backend == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                    conn.commit()

    def schema_revision(self) -> tuple[str | None, str]:
        """(current revision of the database, newest revision of the code)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        with self._read_engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        return current, str(head)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            self._read_engine.dispose()


class _ThreadLock:
    """A re-usable thread lock as a context manager (queues one process's SQLite writers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
