"""Customer transformer configurations such as ``"2x1250"`` or ``"2x1000+1x1000s"``.

Grammar: terms joined by ``+``; each term is ``N x kVA`` (``x``, ``×`` or ``*``), an optional
``kVA`` unit, and an optional standby mark (``s``, ``standby``, ``备``, ``备用``). A bare number
is one unit. Standby units are installed but carry no load, so they add to the installed
capacity and not to the in-service capacity the demand factor applies to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grid_models.errors import InputError

_TERM = re.compile(
    r"^\s*(?:(\d+)\s*[x×*]\s*)?(\d+(?:\.\d+)?)\s*(?:kva)?\s*(s|standby|备用|备)?\s*$",
    re.IGNORECASE)
MAX_UNITS = 64


@dataclass(frozen=True)
class TransformerUnits:
    """``count`` units of ``kva`` each; ``standby`` units carry no load."""

    count: int
    kva: float
    standby: bool = False


@dataclass(frozen=True)
class TransformerConfig:
    """A parsed configuration."""

    text: str
    units: tuple[TransformerUnits, ...]

    @property
    def installed_kva(self) -> float:
        return sum(u.count * u.kva for u in self.units)

    @property
    def in_service_kva(self) -> float:
        return sum(u.count * u.kva for u in self.units if not u.standby)

    @property
    def standby_kva(self) -> float:
        return self.installed_kva - self.in_service_kva

    @property
    def n_units(self) -> int:
        return sum(u.count for u in self.units)

    def describe(self, lang: str = "zh") -> str:
        """E.g. ``2 台 × 1000 kVA 运行 + 1 台 × 1000 kVA 备用``."""
        parts = []
        for u in self.units:
            if lang == "zh":
                parts.append(f"{u.count} 台 × {u.kva:g} kVA {'备用' if u.standby else '运行'}")
            else:
                parts.append(f"{u.count} x {u.kva:g} kVA {'standby' if u.standby else 'in service'}")
        return " + ".join(parts)


def parse_config(text: str) -> TransformerConfig:
    """Parse a configuration string.

    Raises
    ------
    InputError
        The text does not follow the grammar, a unit is not positive, or every unit is standby.
    """
    units = []
    for term in str(text).split("+"):
        m = _TERM.match(term)
        if not m:
            raise InputError(
                f"transformer_config = {text!r}: cannot read {term.strip()!r}; write units as "
                "'2x1250' (2 units of 1250 kVA), terms joined by '+', standby units marked 's' "
                "or '备', e.g. '2x1000+1x1000s'", field="transformer_config")
        count = int(m.group(1) or 1)
        kva = float(m.group(2))
        if not 1 <= count <= MAX_UNITS or kva <= 0:
            raise InputError(f"transformer_config = {text!r}: each term needs 1..{MAX_UNITS} "
                             "units of a kVA > 0", field="transformer_config")
        units.append(TransformerUnits(count, kva, m.group(3) is not None))
    cfg = TransformerConfig(str(text), tuple(units))
    if cfg.in_service_kva <= 0:
        raise InputError(f"transformer_config = {text!r}: every unit is standby; at least one "
                         "must be in service", field="transformer_config")
    return cfg
