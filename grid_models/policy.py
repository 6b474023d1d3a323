"""Standard types and policy profiles: every threshold, cost and time limit, as data.

A policy profile is a folder of CSV files (see ``grid_models/data/policy/default``), each with a
``references`` column. A utility overrides it with a folder holding only the files it changes,
or a YAML file ``{"base": "default", "parameters": {key: value}, "tables": {...}}``.
Standard types (conductors, transformers) live in ``grid_models/data/standard_types``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import yaml

from .errors import InputError, UnknownTypeError

DATA_DIR = Path(__file__).parent / "data"
POLICY_DIR = DATA_DIR / "policy"
STD_DIR = DATA_DIR / "standard_types"
POLICY_TABLES = (
    "parameters", "voltage_levels", "supply_modes", "tiers", "load_rate_limits",
    "transformer_load_limits", "unit_costs", "road_classes", "time_limits", "construction_rates",
    "short_circuit_sources", "supply_area_classes", "plausible_ranges",
)


def _read_csv(path: Path) -> pd.DataFrame:
    t = pd.read_csv(path, dtype={"key": str}, keep_default_na=False, na_values=[""])
    if "references" not in t.columns:
        raise InputError(f"{path}: every standard/policy table needs a 'references' column",
                         field=f"{path.name}.references")
    return t


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


@dataclass(frozen=True, eq=False)
class Policy:
    """A named policy profile: tables by name, each with a ``references`` column."""

    name: str
    tables: dict[str, pd.DataFrame] = field(repr=False)

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
            raise UnknownTypeError(f"policy {self.name!r} has no table {name!r}; "
                                   f"tables: {sorted(self.tables)}", field=name)
        return self.tables[name]

    @cached_property
    def _params(self) -> dict[str, float]:
        t = self.table("parameters")
        return {str(k): float(v) for k, v in zip(t["key"], t["value"], strict=True)}

    def param(self, key: str) -> float:
        """A scalar parameter by key (see ``parameters.csv``)."""
        try:
            return self._params[key]
        except KeyError:
            raise UnknownTypeError(f"policy {self.name!r} has no parameter {key!r}; "
                                   f"known: {', '.join(sorted(self._params))}", field=key) from None

    @cached_property
    def _costs(self) -> dict[tuple[str, str], float]:
        t = self.table("unit_costs")
        return {(str(i), str(k)): float(v)
                for i, k, v in zip(t["item"], t["key"], t["value_cny"], strict=True)}

    def cost(self, item: str, key: str) -> float:
        """A unit cost in CNY (see ``unit_costs.csv``)."""
        try:
            return self._costs[(item, str(key))]
        except KeyError:
            known = [k for i, k in self._costs if i == item]
            raise UnknownTypeError(f"policy {self.name!r} has no unit cost {item}/{key}; "
                                   f"known keys for {item!r}: {known}", field=f"{item}.{key}") from None

    def mapping(self, table: str, key: str, value: str) -> dict[str, object]:
        """Column ``value`` of ``table`` keyed by column ``key`` (cached per profile)."""
        cache = self.__dict__.setdefault("_mappings", {})
        ck = (table, key, value)
        if ck not in cache:
            t = self.table(table)
            cache[ck] = {str(a): b for a, b in zip(t[key], t[value], strict=True)}
        return cache[ck]


def list_policies() -> list[str]:
    """Names of the bundled policy profiles."""
    return sorted(p.name for p in POLICY_DIR.iterdir() if p.is_dir())


def load_policy(name_or_path: str | Path = "default") -> Policy:
    """Load a policy profile by bundled name, folder, or YAML override file.

    Parameters
    ----------
    name_or_path : str or path
        ``"default"``; a folder with some of the CSV tables (the rest come from ``default``);
        or a YAML file with ``base``, ``parameters`` and optional ``tables`` (file paths).

    Raises
    ------
    UnknownTypeError
        The name is not a bundled profile nor an existing path.
    """
    p = Path(name_or_path)
    if (POLICY_DIR / str(name_or_path)).is_dir():
        folder = POLICY_DIR / str(name_or_path)
        base = None if str(name_or_path) == "default" else load_policy("default")
        return _from_folder(str(name_or_path), folder, base)
    if p.is_dir():
        return _from_folder(p.name, p, load_policy("default"))
    if p.is_file() and p.suffix.lower() in (".yaml", ".yml"):
        spec = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        if not isinstance(spec, dict):
            raise InputError(f"{p}: a policy override is a mapping with 'base', 'parameters', "
                             "'tables'", field="policy")
        base = load_policy(spec.get("base", "default"))
        tables = dict(base.tables)
        for tname, tpath in (spec.get("tables") or {}).items():
            if tname not in POLICY_TABLES:
                raise UnknownTypeError(f"{p}: unknown policy table {tname!r}; known: "
                                       f"{', '.join(POLICY_TABLES)}", field=f"tables.{tname}")
            tables[tname] = _read_csv((p.parent / tpath).resolve())
        params = spec.get("parameters") or {}
        if params:
            t = tables["parameters"].copy()
            for k, v in params.items():
                if k not in set(t["key"]):
                    raise UnknownTypeError(f"{p}: unknown policy parameter {k!r}; known: "
                                           f"{', '.join(t['key'])}", field=f"parameters.{k}")
                try:
                    t.loc[t["key"] == k, "value"] = float(v)
                except (TypeError, ValueError):
                    raise InputError(f"{p}: parameter {k!r} must be a number, got {v!r}",
                                     field=f"parameters.{k}") from None
                t.loc[t["key"] == k, "references"] = f"override in {p.name}"
            tables["parameters"] = t
        return Policy(str(spec.get("name", p.stem)), tables)
    raise UnknownTypeError(f"unknown policy profile {str(name_or_path)!r}; bundled profiles: "
                           f"{', '.join(list_policies())}, or give a folder / YAML file",
                           field="policy")


def _from_folder(name: str, folder: Path, base: Policy | None) -> Policy:
    tables = dict(base.tables) if base else {}
    for tname in POLICY_TABLES:
        f = folder / f"{tname}.csv"
        if f.exists():
            tables[tname] = _read_csv(f)
        elif base is None:
            raise InputError(f"policy folder {folder} lacks {tname}.csv", field=tname)
    return Policy(name, tables)
