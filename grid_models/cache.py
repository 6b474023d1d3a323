"""A cache of compiled network views, keyed by content, for commands that start cold.

``gridscheme plan`` answers in milliseconds but used to spend seconds reading the GeoPackage,
validating and compiling the network on every call. :func:`load_compiled` keeps the validated
:class:`~grid_models.compiled.CompiledNetwork` of a network file on disk, keyed by

- the SHA-256 of the file's bytes (a GeoJSON folder: of every file in it),
- the policy profile's content id (``Policy.policy_id``: compiled views depend on it), and
- the source of the modules that shape the compiled view (so a code change invalidates it),

so a changed file, policy or engine never reuses a stale view. Entries are written atomically
(temporary file + rename) into a private folder (mode 0700: pickles are only loaded from where
this user wrote them); an unreadable entry is ignored and rebuilt. Networks that fail
validation are refused (their report is cached too, so a second call is refused as fast).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import NetworkValidationError, ValidationReport

if TYPE_CHECKING:
    from .compiled import CompiledNetwork
    from .policy import Policy

CACHE_FORMAT = 2
#: modules whose code decides what a compiled view holds (and the validation verdict)
_SHAPING = ("compiled.py", "road_graph.py", "road_core.py", "forest.py", "schema.py", "io.py",
            "network.py", "validation.py", "crs.py", "policy.py", "policy_schema.py", "cache.py")


@dataclass(frozen=True)
class CompiledEntry:
    """A validated compiled view and what was found while validating it."""

    compiled: CompiledNetwork
    report: ValidationReport  # warnings only (errors are refused)
    from_cache: bool


def cache_dir() -> Path:
    """``$GRIDSCHEME_CACHE_DIR``, else ``$XDG_CACHE_HOME/gridscheme``, else
    ``~/.cache/gridscheme``."""
    env = os.environ.get("GRIDSCHEME_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gridscheme"


def content_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a network file, or of a folder's files (names and bytes, sorted)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


@cache
def _code_digest() -> str:
    h = hashlib.sha256(str(CACHE_FORMAT).encode())
    here = Path(__file__).parent
    for name in _SHAPING:
        f = here / name
        if f.exists():
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def load_compiled(path: str | os.PathLike, policy: Policy, use_cache: bool = True
                  ) -> CompiledEntry:
    """The validated compiled view of the network at ``path`` under ``policy``.

    Parameters
    ----------
    path : path-like
        ``NET.gpkg`` or a GeoJSON folder.
    policy : Policy
    use_cache : bool
        Read and write the on-disk cache (``False``: always read, validate and compile).

    Raises
    ------
    NetworkFormatError, CRSError
        The file cannot be read.
    NetworkValidationError
        The network has validation errors (the report lists them; the same codes as
        ``gridscheme network validate``).
    """
    from .errors import NetworkFormatError

    p = Path(path)
    if not p.exists():
        raise NetworkFormatError(f"{p}: no such file or folder", field="path")
    key = None
    if use_cache:
        try:
            key = f"{content_digest(p)[:32]}-{policy.policy_id.split('@')[-1]}-{_code_digest()}"
        except OSError as exc:
            raise NetworkFormatError(f"{p}: cannot be read ({exc.strerror or exc})",
                                     field="path") from None
        hit = _read_entry(key)
        if hit is not None:
            if not hit[0].ok:
                raise NetworkValidationError(hit[0])
            return CompiledEntry(hit[1], hit[0], True)
    from .compiled import compile_network
    from .io import read_network
    from .validation import validate

    net = read_network(p, strict=False)
    report = validate(net, policy=policy)
    compiled: CompiledNetwork | None = (compile_network(net, policy, validation=report)
                                        if report.ok else None)
    if key is not None:
        _write_entry(key, report, compiled)
    if compiled is None:
        raise NetworkValidationError(report)
    return CompiledEntry(compiled, report, False)


def _entry_path(key: str) -> Path:
    return cache_dir() / "compiled" / f"{key}.pkl"


def _read_entry(key: str) -> tuple[ValidationReport, CompiledNetwork] | None:
    f = _entry_path(key)
    try:
        with open(f, "rb") as fh:
            report, compiled = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign entry: rebuild it
        return None
    return report, compiled


def _write_entry(key: str, report: ValidationReport, compiled: CompiledNetwork | None) -> None:
    d = _entry_path(key).parent
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((report, compiled), fh, protocol=5)
            os.replace(tmp, _entry_path(key))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass  # a read-only or full cache folder only costs speed
