"""Database set-up (migrations on both backends, SQLite WAL) and the token / serve commands."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from .conftest import fresh_database


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_models_and_are_idempotent(backend: str, tmp_path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.store import Database
    from api.store.models import Base

    with fresh_database(backend, tmp_path) as url:
        db = Database(url)
        db.migrate()
        db.migrate()  # a second start changes nothing
        current, head = db.schema_revision()
        assert current == head == "0001"
        with db._write_engine.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}),
                                    Base.metadata)
        assert diff == []
        if backend == "sqlite":
            with db._write_engine.connect() as c:
                assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.dispose()


def test_database_urls_are_checked(tmp_path) -> None:
    from api.store import Database, resolve_database_url
    from grid_models.errors import InputError

    with pytest.raises(InputError, match="in-memory"):
        Database("sqlite://")
    with pytest.raises(InputError, match="not a database URL"):
        Database("::nonsense::")
    with pytest.raises(InputError, match="unsupported database"):
        Database("mysql://u:p@localhost/x")
    assert resolve_database_url("postgresql://u:p@h/d", tmp_path) == "postgresql+psycopg://u:p@h/d"
    assert resolve_database_url(None, tmp_path).startswith("sqlite:///")


def test_token_commands(tmp_path, capsys) -> None:
    from api.auth import authenticate
    from api.cli import main
    from api.store import Database

    d = ["--data-dir", str(tmp_path)]
    assert main(["token", "create", "--role", "customer", "--principal", "C-001", "--name", "王工",
                 "--json", *d]) == 0
    made = json.loads(capsys.readouterr().out)
    db = Database(f"sqlite:///{tmp_path / 'gridscheme.db'}")
    who = authenticate(db, made["token"])
    assert who is not None and who.role == "customer" and who.principal == "C-001"
    with db.read() as s:  # only the hash is stored
        from api.store.models import ApiToken

        stored = s.scalars(sa.select(ApiToken.token_hash)).all()
    assert made["token"] not in stored and len(stored) == 1
    assert main(["token", "list", *d]) == 0
    listing = capsys.readouterr().out
    assert made["id"] in listing and made["token"] not in listing and "active" in listing
    assert main(["token", "revoke", made["id"], *d]) == 0
    assert authenticate(db, made["token"]) is None
    assert main(["token", "revoke", made["id"], *d]) == 2
    assert "no active token" in capsys.readouterr().err
    assert main(["token", "create", "--role", "customer", *d]) == 2
    assert "principal" in capsys.readouterr().err
    assert main(["serve", "--network", str(tmp_path / "missing.gpkg"), *d]) == 2
    assert "does not exist" in capsys.readouterr().err
    db.dispose()
