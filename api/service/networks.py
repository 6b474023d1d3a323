"""Network versions in the service: upload (validated), immutable storage by content hash,
activation, and the local file a planner reads.

The GeoPackage bytes are stored in the database (table ``network_files``) so that a PostgreSQL
deployment is self-contained; each process materialises the file once per version under
``<data_dir>/networks/<version_id>.gpkg`` (atomic write) to read it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from api.store.db import Database
from api.store.models import NetworkFile, NetworkVersion, ServiceState, utcnow
from grid_models.errors import CRSError, InputError, NetworkFormatError, Problem, ValidationReport
from grid_models.network import Network

ACTIVE_NETWORK = "active_network"
ACTIVE_POLICY = "active_policy"
DEFAULT_POLICY = "default"


class InvalidNetworkError(InputError):
    """An uploaded network failed validation; ``report`` holds every problem."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(f"the network is invalid: {len(report.errors)} error(s), "
                         f"{len(report.warnings)} warning(s)", field="network")
        self.report = report


def problem_dict(p: Problem) -> dict[str, str]:
    """A validation problem as JSON."""
    return dataclasses.asdict(p)


def read_and_validate(path: Path) -> tuple[Network, ValidationReport]:
    """Read a network file and validate it, gathering every problem.

    Returns
    -------
    (Network, ValidationReport)
        The network and its report (warnings only).

    Raises
    ------
    InvalidNetworkError
        The file is unreadable, has a layer without CRS, or has validation errors.
    """
    from grid_models.io import read_network
    from grid_models.validation import validate

    rep = ValidationReport()
    try:
        net = read_network(path, strict=False)
    except CRSError as exc:
        rep.add("no_crs", (exc.field or "*").split(".")[0], "*", str(exc).replace(str(path), "upload"))
        raise InvalidNetworkError(rep) from None
    except (NetworkFormatError, OSError, ValueError) as exc:
        rep.add("unreadable", "file", "upload", str(exc).replace(str(path), "upload"))
        raise InvalidNetworkError(rep) from None
    report = validate(net)
    if not report.ok:
        raise InvalidNetworkError(report)
    return net, report


def store_network(db: Database, path: Path, name: str, created_by: str) -> tuple[NetworkVersion, bool]:
    """Validate the GeoPackage at ``path`` and store it as an immutable version.

    Returns
    -------
    (NetworkVersion, bool)
        The stored version and whether it was created now (False: the same content exists).
    """
    net, report = read_and_validate(path)
    vid = net.version_id
    existing = get_version(db, vid)
    if existing is not None:
        return existing, False
    content = Path(path).read_bytes()
    summary = _jsonable(net.summary())
    row = NetworkVersion(version_id=vid, name=(name or net.name)[:200], summary=summary,
                         warnings=[problem_dict(p) for p in report.warnings[:500]],
                         file_sha256=hashlib.sha256(content).hexdigest(), size_bytes=len(content),
                         created_at=utcnow(), created_by=created_by)
    try:
        with db.write() as s:
            s.add(row)
            s.flush()
            s.add(NetworkFile(version_id=vid, content=content))
    except IntegrityError:  # the same version uploaded concurrently
        existing = get_version(db, vid)
        if existing is None:
            raise
        return existing, False
    return row, True


def get_version(db: Database, version_id: str) -> NetworkVersion | None:
    """The stored version, or None."""
    with db.read() as s:
        return s.get(NetworkVersion, version_id)


def list_versions(db: Database) -> list[NetworkVersion]:
    """Every stored version, newest first."""
    with db.read() as s:
        return list(s.scalars(sa.select(NetworkVersion).order_by(NetworkVersion.created_at.desc())))


def get_state(db: Database) -> dict[str, str]:
    """The service state (active network version, active policy)."""
    with db.read() as s:
        return {r.key: r.value for r in s.scalars(sa.select(ServiceState))}


def active(db: Database) -> tuple[str | None, str]:
    """(active network version or None, active policy profile name)."""
    st = get_state(db)
    return st.get(ACTIVE_NETWORK), st.get(ACTIVE_POLICY, DEFAULT_POLICY)


def set_state(db: Database, key: str, value: str, by: str) -> None:
    """Set one service-state key (insert or update) in its own transaction."""
    with db.write() as s:
        row = s.get(ServiceState, key)
        if row is None:
            s.add(ServiceState(key=key, value=value, updated_at=utcnow(), updated_by=by))
        else:
            row.value, row.updated_at, row.updated_by = value, utcnow(), by


def materialize(db: Database, data_dir: Path, version_id: str) -> Path:
    """The version's GeoPackage as a local file (written once, atomically)."""
    target = Path(data_dir) / "networks" / f"{version_id}.gpkg"
    if target.exists():
        return target
    with db.read() as s:
        content = s.scalar(sa.select(NetworkFile.content).where(NetworkFile.version_id == version_id))
    if content is None:
        raise InputError(f"network version {version_id!r} is not stored", field="network_version")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.replace(tmp, target)
    return target


def load_network(db: Database, data_dir: Path, version_id: str) -> Network:
    """Read a stored version (strictly: it was validated on upload)."""
    from grid_models.io import read_network

    return read_network(materialize(db, data_dir, version_id))


def ensure_network(db: Database, path: Path, created_by: str, name: str = "") -> str:
    """Store ``path`` if needed and activate it when no network is active; returns its version."""
    row, _ = store_network(db, path, name, created_by)
    current, _pol = active(db)
    if current is None:
        set_state(db, ACTIVE_NETWORK, row.version_id, created_by)
    return row.version_id


def _jsonable(d: dict) -> dict:
    import json

    return json.loads(json.dumps(d, default=str))
