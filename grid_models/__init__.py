"""grid_models: the distribution network as element tables, their I/O, validation and the
compiled (array) view used on every per-application path."""

from .errors import (
    ApplicationError,
    CRSError,
    GridSchemeError,
    InputError,
    NetworkFormatError,
    NetworkValidationError,
    UnknownTypeError,
    ValidationReport,
)
from .io import read_network, write_network
from .network import Network
from .policy import Policy, StandardTypes, load_policy, load_standard_types

__all__ = [
    "ApplicationError",
    "CRSError",
    "GridSchemeError",
    "InputError",
    "Network",
    "NetworkFormatError",
    "NetworkValidationError",
    "Policy",
    "StandardTypes",
    "UnknownTypeError",
    "ValidationReport",
    "load_policy",
    "load_standard_types",
    "read_network",
    "write_network",
]
