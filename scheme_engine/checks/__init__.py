"""The rule checks of a connection option, one registry entry each (see :mod:`.base`).

Importing this package registers every check; the import order below is the order designers
see the checks in (so it is not sorted alphabetically).
"""
# ruff: noqa: I001

from . import thermal  # noqa: F401
from . import voltage  # noqa: F401
from . import loading  # noqa: F401
from . import connection  # noqa: F401
from . import short_circuit  # noqa: F401
from .base import REGISTRY, CheckSpec, register
from .inputs import CheckInputs, Line, Load, Site, build_site, check_inputs, line_of, solve_flow
from .run import CheckResults, active_checks, run_checks

__all__ = ["REGISTRY", "CheckInputs", "CheckResults", "CheckSpec", "Line", "Load", "Site",
           "active_checks", "build_site", "check_inputs", "line_of", "register", "run_checks",
           "solve_flow"]
