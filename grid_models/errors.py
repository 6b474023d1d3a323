"""Exception classes shared by every gridscheme package.

Input errors subclass :class:`ValueError` so callers that only know the standard library still
catch them; every message names the field or element at fault and says what would be valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class GridSchemeError(Exception):
    """Base class of every error raised on purpose by gridscheme."""


class InputError(GridSchemeError, ValueError):
    """Something the user supplied is wrong.

    Parameters
    ----------
    message : str
        One paragraph that names the field/element and says what is valid.
    field : str, optional
        The field, column or element id at fault.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NetworkFormatError(InputError):
    """A network or road file cannot be read (truncated, foreign, missing layers)."""


class CRSError(InputError):
    """A layer has no CRS, or a CRS that cannot be used."""


class UnknownTypeError(InputError, KeyError):
    """A standard type, policy profile, industry or other named entry does not exist."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class PolicyError(GridSchemeError):
    """A policy profile (thresholds, costs, time limits) is incomplete or malformed.

    Not an :class:`InputError`: an application cannot fix it; whoever maintains the profile
    must (the message names the file, row and column).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ApplicationError(InputError):
    """A connection application is invalid or impossible on this network."""


class BadParcelsError(InputError):
    """Parcels of a park cannot be planned (``--on-bad fail``); ``bad`` lists each one.

    Parameters
    ----------
    message : str
    bad : list of dict
        ``{"parcel_id", "row", "reason", "message"}`` per bad parcel.
    """

    def __init__(self, message: str, bad: list[dict[str, object]]) -> None:
        super().__init__(message, field="parcels")
        self.bad = bad


@dataclass(frozen=True)
class Problem:
    """One finding of network validation.

    Attributes
    ----------
    code : str
        Stable machine-readable code, e.g. ``"dangling_segment"``.
    layer : str
        Element table the problem lives in.
    element_id : str
        Id of the element (or ``"*"`` for a layer-wide problem).
    message : str
        Human-readable explanation saying what would be valid.
    severity : str
        ``"error"`` or ``"warning"``.
    """

    code: str
    layer: str
    element_id: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"[{self.severity}] {self.layer}:{self.element_id} {self.code}: {self.message}"


@dataclass
class ValidationReport:
    """Every problem found in one validation run."""

    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, code: str, layer: str, element_id: object, message: str,
            severity: str = "error") -> None:
        self.problems.append(Problem(code, layer, str(element_id), message, severity))

    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def render(self, limit: int | None = 200, grouped: bool | None = None) -> str:
        """The report as text: a count line, then errors before warnings.

        Parameters
        ----------
        limit : int, optional
            At most this many problem lines (``None``: all).
        grouped : bool, optional
            Fold a code shared by more than :data:`GROUP_FROM` elements of one layer into
            one line with the count, the first ids and the first message (default: grouped
            unless ``limit`` is ``None``, which lists every problem).
        """
        if grouped is None:
            grouped = limit is not None
        lines = [f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"]
        ordered = self.errors + self.warnings
        body: list[str] = []
        if grouped:
            groups: dict[tuple[str, str, str], list[Problem]] = {}
            for p in ordered:
                groups.setdefault((p.severity, p.layer, p.code), []).append(p)
            for (sev, layer, code), ps in groups.items():
                if len(ps) < GROUP_FROM:
                    body += [str(p) for p in ps]
                    continue
                ids = ", ".join(p.element_id for p in ps[:GROUP_IDS])
                more = f" and {len(ps) - GROUP_IDS} more" if len(ps) > GROUP_IDS else ""
                body.append(f"[{sev}] {layer}: {code} x{len(ps)} ({ids}{more}); e.g. "
                            f"{ps[0].element_id}: {ps[0].message}")
        else:
            body = [str(p) for p in ordered]
        shown = body if limit is None else body[:limit]
        lines += shown
        if limit is not None and len(body) > limit:
            lines.append(f"... and {len(body) - limit} more line(s); --all lists every problem")
        return "\n".join(lines)


#: A code shared by at least this many elements of one layer is shown as one line.
GROUP_FROM = 4
#: Element ids named on a grouped line.
GROUP_IDS = 5


class NetworkValidationError(InputError):
    """A network failed validation; ``report`` holds every problem found."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__("network is invalid:\n" + report.render(50))
        self.report = report
