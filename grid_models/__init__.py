"""grid_models: the distribution network as element tables, their I/O, validation and the
compiled (array) view used on every per-application path.

Public names are imported lazily (PEP 562) so that light commands such as ``--help`` or the
error classes do not pay for geopandas.
"""

from importlib import import_module

_EXPORTS = {
    "ApplicationError": "errors", "CRSError": "errors", "GridSchemeError": "errors",
    "InputError": "errors", "NetworkFormatError": "errors", "NetworkValidationError": "errors",
    "UnknownTypeError": "errors", "ValidationReport": "errors",
    "read_network": "io", "write_network": "io", "Network": "network",
    "Policy": "policy", "StandardTypes": "policy", "load_policy": "policy",
    "load_standard_types": "policy", "CompiledNetwork": "compiled",
    "compile_network": "compiled", "validate": "validation", "synth_city": "synth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'grid_models' has no attribute {name!r}")
