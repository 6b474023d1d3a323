"""Standard types and policy profiles: every threshold, cost and time limit, as data.

A policy profile is a folder of CSV files (see ``grid_models/data/policy/default``), each with a
``references`` column and a schema (:mod:`grid_models.policy_schema`) checked when the profile is
loaded, so a bad or partial profile is refused naming the file, row and column.

A utility overrides the default with a folder holding only the files it changes, or a YAML file
``{"base": "default", "parameters": {key: value}, "tables": {name: path}}``. ``parameters.csv``
merges key by key onto its base (a folder may list only the keys it changes); every other table
replaces the base table whole (so a utility can also remove rows, e.g. a voltage level).
Standard types (conductors, transformers) live in ``grid_models/data/standard_types``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, PolicyError, UnknownTypeError
from .policy_schema import TABLES, Parameters, check_table, did_you_mean, parameters_from_table

DATA_DIR = Path(__file__).parent / "data"
POLICY_DIR = DATA_DIR / "policy"
STD_DIR = DATA_DIR / "standard_types"
#: every table a profile has (each has a schema in :mod:`grid_models.policy_schema`)
POLICY_TABLES = tuple(TABLES)
#: largest policy or standard-type file read (a policy is a few kB; this refuses junk early)
MAX_TABLE_BYTES = 5_000_000


def _read_csv(path: Path, table: str | None = None) -> pd.DataFrame:
    """Read one policy / standard-type CSV; a file that cannot be read is a PolicyError."""
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise PolicyError(f"{path}: {path.stat().st_size} bytes is too large for a policy "
                              f"table (limit {MAX_TABLE_BYTES})", field=table or path.stem)
        t = pd.read_csv(path, dtype={"key": str}, keep_default_na=False, na_values=[""],
                        encoding="utf-8")
    except PolicyError:
        raise
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError,
            ValueError) as exc:
        raise PolicyError(f"{path}: cannot be read as a UTF-8 CSV table ({_short(exc)})",
                          field=table or path.stem) from None
    if "references" not in t.columns:
        raise PolicyError(f"{path}: every standard/policy table needs a 'references' column",
                          field=f"{path.name}.references")
    return t


def _short(exc: BaseException) -> str:
    s = str(exc).strip().splitlines()
    return s[0][:200] if s else type(exc).__name__


@dataclass(frozen=True)
class StandardTypes:
    """Conductor and transformer standard types.

    ``conductors`` are the types offered for new lines (each has a price in the policy);
    ``line_catalogue`` holds further known line types that existing networks may name, such as
    pandapower's own (``pandapower_lines.csv``, written by ``python -m
    grid_models.pandapower_types``): validation knows them, planning never proposes them.
    """

    conductors: pd.DataFrame
    transformers: pd.DataFrame
    line_catalogue: pd.DataFrame = field(default_factory=pd.DataFrame)

    @cached_property
    def line_types(self) -> pd.DataFrame:
        """Every known line type, one row per name (``conductors`` win over the catalogue)."""
        cat = self.line_catalogue
        if len(cat) == 0:
            return self.conductors.drop_duplicates("name")
        both = pd.concat([self.conductors, cat], ignore_index=True)
        return both.drop_duplicates("name").reset_index(drop=True)

    def conductor(self, name: str) -> pd.Series:
        """Look up a conductor by name; raises naming the known ones when unknown."""
        hit = self.conductors[self.conductors["name"] == name]
        if hit.empty:
            raise UnknownTypeError(
                f"unknown conductor type {name!r}; known types: "
                f"{', '.join(self.conductors['name'])}", field="std_type")
        return hit.iloc[0]


def load_standard_types(folder: str | Path | None = None) -> StandardTypes:
    """Load standard types from ``folder`` (default: the bundled tables)."""
    d = Path(folder) if folder else STD_DIR
    cat = d / "pandapower_lines.csv"
    return StandardTypes(_read_csv(d / "conductors.csv"), _read_csv(d / "transformers.csv"),
                         _read_csv(cat) if cat.exists() else pd.DataFrame())


@dataclass(frozen=True)
class VoltageLevel:
    """One row of ``voltage_levels.csv``."""

    vn_kv: float
    min_kva: float
    max_kva: float
    deviation_rule: str  # "band": |dev| <= limit; "sum": |+dev| + |-dev| <= limit
    deviation_limit_pct: float
    search_radius_max_m: float
    bay_cost_key: str

    @property
    def band_pct(self) -> float:
        """Allowed |deviation| on one side at the point of supply (GB/T 12325)."""
        return self.deviation_limit_pct if self.deviation_rule == "band" \
            else self.deviation_limit_pct / 2


@dataclass(frozen=True)
class ProcessStep:
    """One row of ``time_limits.csv``: a process step (or the whole-process target)."""

    step: str
    kind: str
    limit_days: tuple[float, float]  # (single source, dual supply)
    planned_days: tuple[float, float]
    important_only: bool


@dataclass(frozen=True, eq=False)
class Policy:
    """A named policy profile: tables by name, each checked against its schema.

    Parameters
    ----------
    name : str
    tables : dict of str to DataFrame
        Every table of :data:`POLICY_TABLES`.

    Raises
    ------
    PolicyError
        A table is missing, or a column, row or value does not fit the schema.
    """

    name: str
    tables: dict[str, pd.DataFrame] = field(repr=False)
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [t for t in POLICY_TABLES if t not in self.tables]
        if missing:
            raise PolicyError(f"policy {self.name!r} lacks table(s) {missing}; a profile has "
                              f"{', '.join(POLICY_TABLES)}", field=missing[0])
        checked = {k: check_table(k, v, self._where(k)) for k, v in self.tables.items()}
        object.__setattr__(self, "tables", checked)
        # fail now, not in the middle of a plan
        object.__setattr__(self, "params", parameters_from_table(checked["parameters"],
                                                                 self._where("parameters")))

    params: Parameters = field(init=False, repr=False, compare=False)

    def _where(self, table: str) -> str:
        return self.sources.get(table) or f"policy {self.name!r}, table {table}"

    @cached_property
    def policy_id(self) -> str:
        """Content hash: schemes are stored with the policy they were made under."""
        h = hashlib.sha256(self.name.encode())
        for k in sorted(self.tables):
            h.update(k.encode())
            h.update(self.tables[k].to_csv(index=False).encode())
        return f"{self.name}@{h.hexdigest()[:12]}"

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise PolicyError(f"policy {self.name!r} has no table {name!r}; "
                              f"tables: {sorted(self.tables)}", field=name)
        return self.tables[name]

    def param(self, key: str) -> float:
        """A scalar parameter by key, as a float (prefer the typed :attr:`params`)."""
        if key not in Parameters.names():
            raise PolicyError(f"policy {self.name!r} has no parameter {key!r}"
                              f"{did_you_mean(key, Parameters.names())}", field=key)
        return self.params.get(key)

    @cached_property
    def _costs(self) -> dict[tuple[str, str], float]:
        t = self.table("unit_costs")
        return {(str(i), str(k)): float(v)
                for i, k, v in zip(t["item"], t["key"], t["value_cny"], strict=True)}

    def cost(self, item: str, key: str) -> float:
        """A unit cost in CNY (see ``unit_costs.csv``).

        Raises
        ------
        PolicyError
            The profile has no such cost (it is the profile that is incomplete).
        """
        try:
            return self._costs[(item, str(key))]
        except KeyError:
            known = [k for i, k in self._costs if i == item]
            raise PolicyError(f"policy {self.name!r} has no unit cost {item}/{key} "
                              f"(unit_costs.csv); known keys for {item!r}: {known}",
                              field=f"unit_costs.{item}.{key}") from None

    def mapping(self, table: str, key: str, value: str) -> dict[str, object]:
        """Column ``value`` of ``table`` keyed by column ``key`` (cached per profile)."""
        cache = self.__dict__.setdefault("_mappings", {})
        ck = (table, key, value)
        if ck not in cache:
            t = self.table(table)
            cache[ck] = {_key(a): b for a, b in zip(t[key], t[value], strict=True)}
        return cache[ck]

    # ------------------------------------------------------------------ typed tables
    @cached_property
    def voltage_levels(self) -> tuple[VoltageLevel, ...]:
        """Voltage levels of the rules, lowest first."""
        t = self.table("voltage_levels").sort_values("vn_kv")
        return tuple(VoltageLevel(float(r.vn_kv), float(r.min_kva), float(r.max_kva),
                                  str(r.deviation_rule), float(r.deviation_limit_pct),
                                  float(r.candidate_search_radius_max_m),
                                  str(r.substation_bay_cost_key))
                     for r in t.itertuples(index=False))

    def voltage_level(self, vn_kv: float) -> VoltageLevel:
        """The rules' level nearest ``vn_kv`` (by ratio): a 10.5 kV network uses the 10 kV row."""
        cache = self.__dict__.setdefault("_level_of", {})
        hit = cache.get(vn_kv)
        if hit is None:
            lv = self.voltage_levels
            ratio = np.abs(np.log(np.array([v.vn_kv for v in lv]) / max(float(vn_kv), 1e-9)))
            hit = cache[vn_kv] = lv[int(np.argmin(ratio))]
        return hit

    @cached_property
    def process_steps(self) -> tuple[ProcessStep, ...]:
        """Rows of ``time_limits.csv`` in file order."""
        t = self.table("time_limits")
        return tuple(ProcessStep(str(r.step), str(r.kind),
                                 (float(r.single_days), float(r.dual_days)),
                                 (float(r.planned_single_days), float(r.planned_dual_days)),
                                 bool(r.important_only))
                     for r in t.itertuples(index=False))

    @cached_property
    def check_actions(self) -> dict[str, str]:
        """``checks.csv``: what a failing check does (reject / flag / off)."""
        return self.mapping("checks", "name", "action")  # type: ignore[return-value]

    @cached_property
    def construction_rates(self) -> dict[str, float]:
        return {k: float(str(v)) for k, v in
                self.mapping("construction_rates", "item", "value").items()}


def _key(v: object) -> str:
    # keys read back as floats (10.0) must match their text ("10")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def list_policies() -> list[str]:
    """Names of the bundled policy profiles."""
    return sorted(p.name for p in POLICY_DIR.iterdir() if p.is_dir())


def load_policy(name_or_path: str | Path = "default") -> Policy:
    """Load a policy profile by bundled name, folder, or YAML override file.

    Parameters
    ----------
    name_or_path : str or path
        ``"default"`` or another bundled profile (see :func:`list_policies`); a folder with some
        of the CSV tables (the rest come from ``default``; ``parameters.csv`` may list only the
        keys it changes); or a YAML file with ``base``, ``parameters`` and optional ``tables``
        (paths relative to the YAML file).

    Raises
    ------
    UnknownTypeError
        The name is not a bundled profile nor an existing path.
    PolicyError
        A file cannot be read, or a table, row or value does not fit the schema (the message
        names the file, row and column).
    """
    key = str(name_or_path)
    cache = _CACHE
    if key in cache:
        return cache[key]
    p = Path(name_or_path)
    if (POLICY_DIR / key).is_dir() and "/" not in key and "\\" not in key:
        folder = POLICY_DIR / key
        pol = _read_bundled(key)
        if pol is None:
            base = None if key == "default" else load_policy("default")
            pol = _from_folder(key, folder, base)
            _write_bundled(key, pol)
        cache[key] = pol  # bundled profiles are immutable at run time
        return pol
    if p.is_dir():
        return _from_folder(p.name, p, load_policy("default"))
    if p.is_file() and p.suffix.lower() in (".yaml", ".yml"):
        return _from_yaml(p)
    raise UnknownTypeError(f"unknown policy profile {key!r}; bundled profiles: "
                           f"{', '.join(list_policies())}, or give a folder / YAML file",
                           field="policy")


_CACHE: dict[str, Policy] = {}


# A bundled profile, once read and checked, is kept pickled beside the compiled views
# (grid_models.cache.cache_dir): reading and checking its ~25 CSV tables costs ~0.1 s, a tenth
# of a `gridscheme plan`. The key covers every byte it was made from (the profile's and the
# default's CSV files, this module and the schema module, the pandas version), so an edited
# table or schema is read afresh; an unreadable entry is ignored and rewritten.
def _bundled_key(name: str) -> str:
    h = hashlib.sha256(f"{name}\n{pd.__version__}\n".encode())
    here = Path(__file__).parent
    for f in (here / "policy.py", here / "policy_schema.py"):
        h.update(f.read_bytes())
    for folder in sorted({POLICY_DIR / "default", POLICY_DIR / name}):
        for f in sorted(folder.glob("*.csv")):
            h.update(f"{folder.name}/{f.name}\n".encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:32]


def _bundled_path(name: str) -> Path:
    from .cache import cache_dir  # (lazy: the cache module imports the compiled view)

    return cache_dir() / f"policy-{name}-{_bundled_key(name)}.pkl"


def _read_bundled(name: str) -> Policy | None:
    try:
        with open(_bundled_path(name), "rb") as fh:
            pol = pickle.load(fh)
    # absent, unreadable, from other code, or no cache folder can be named (no home
    # directory): read the CSVs
    except Exception:  # noqa: BLE001
        return None
    return pol if isinstance(pol, Policy) and pol.name == name else None


def _write_bundled(name: str, pol: Policy) -> None:
    _ = pol.policy_id  # kept with it (hashing every table costs ~10 ms)
    try:
        path = _bundled_path(name)
    except (RuntimeError, KeyError, OSError):
        return  # no cache folder can be named (no home directory)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(pol, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a read-only cache folder only costs the next process the CSV reading


def _merge_parameters(base: pd.DataFrame, override: pd.DataFrame, where: str) -> pd.DataFrame:
    """``parameters`` rows of ``override`` replace or extend those of ``base`` by key."""
    for col in ("key", "value"):
        if col not in override.columns:
            raise PolicyError(f"{where}: column {col!r} is missing (columns: key, value, unit, "
                              "description, references)", field=f"parameters.{col}")
    parameters_from_table(override, where, require_all=False)  # rows named by file line
    keys = override["key"].astype(str)
    kept = base[~base["key"].astype(str).isin(set(keys))]
    ov = override.reindex(columns=base.columns)
    ov["references"] = ov["references"].where(ov["references"].notna() & (ov["references"] != ""),
                                              f"override in {where}")
    return pd.concat([kept, ov], ignore_index=True)


def _from_folder(name: str, folder: Path, base: Policy | None) -> Policy:
    tables = dict(base.tables) if base else {}
    sources = dict(base.sources) if base else {}
    for tname in POLICY_TABLES:
        f = folder / f"{tname}.csv"
        if f.exists():
            t = _read_csv(f, tname)
            if tname == "parameters" and base is not None:
                t = _merge_parameters(base.tables["parameters"], t, str(f))
            tables[tname] = t
            sources[tname] = str(f)
        elif base is None:
            raise PolicyError(f"policy folder {folder} lacks {tname}.csv", field=tname)
    unknown = sorted(f.stem for f in folder.glob("*.csv") if f.stem not in POLICY_TABLES)
    if unknown:
        raise PolicyError(f"policy folder {folder}: unknown table file(s) "
                          f"{[u + '.csv' for u in unknown]}; known: "
                          f"{', '.join(t + '.csv' for t in POLICY_TABLES)}", field=unknown[0])
    return Policy(name, tables, sources)


def _from_yaml(p: Path) -> Policy:
    import yaml  # (here: only an override file needs it, and every plan imports this module)

    try:
        text = p.read_text(encoding="utf-8")
        spec = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PolicyError(f"{p}:{where} is not valid YAML ({getattr(exc, 'problem', None) or exc})",
                          field="policy") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{p}: cannot be read as UTF-8 text ({_short(exc)})",
                          field="policy") from None
    if not isinstance(spec, dict):
        raise PolicyError(f"{p}: a policy override is a mapping with 'base', 'parameters', "
                          "'tables'", field="policy")
    extra = sorted(set(spec) - {"base", "name", "parameters", "tables"})
    if extra:
        raise PolicyError(f"{p}: unknown key(s) {extra}; a policy override has base, name, "
                          "parameters, tables", field=str(extra[0]))
    base_name = spec.get("base", "default")
    if not isinstance(base_name, str):
        raise PolicyError(f"{p}: 'base' must be a profile name, got {base_name!r}", field="base")
    base = load_policy(base_name)
    tables = dict(base.tables)
    sources = dict(base.sources)
    tspec = spec.get("tables") or {}
    if not isinstance(tspec, dict):
        raise PolicyError(f"{p}: 'tables' must map table names to CSV paths", field="tables")
    for tname, tpath in tspec.items():
        if tname not in POLICY_TABLES:
            raise PolicyError(f"{p}: unknown policy table {tname!r}; known: "
                              f"{', '.join(POLICY_TABLES)}", field=f"tables.{tname}")
        f = (p.parent / str(tpath)).resolve()
        if not f.is_file():
            raise PolicyError(f"{p}: tables.{tname}: {f} does not exist", field=f"tables.{tname}")
        t = _read_csv(f, tname)
        if tname == "parameters":
            t = _merge_parameters(tables["parameters"], t, str(f))
        tables[tname] = t
        sources[tname] = str(f)
    params = spec.get("parameters") or {}
    if not isinstance(params, dict):
        raise PolicyError(f"{p}: 'parameters' must map keys to numbers", field="parameters")
    if params:
        rows = pd.DataFrame({"key": [str(k) for k in params],
                             "value": [str(v) for v in params.values()],
                             "references": f"override in {p.name}"})
        tables["parameters"] = _merge_parameters(tables["parameters"], rows, str(p))
        sources["parameters"] = str(p)
    name = spec.get("name", p.stem)
    return Policy(str(name), tables, sources)


def bundled_policy_file(table: str, profile: str = "default") -> Path:
    """Path of a bundled policy table (for tools that show or copy it)."""
    f = POLICY_DIR / profile / f"{table}.csv"
    if not f.exists():
        raise InputError(f"no bundled table {table!r} in profile {profile!r}", field="table")
    return f
