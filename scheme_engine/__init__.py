"""scheme_engine: supply schemes (供电方案) for connection applications.

Public API: :class:`Planner` (one network version under one policy; ``plan``, ``plan_many``,
``evaluate_levels``), :class:`Application` (the validated application), :class:`PlanResult`
(the answer; JSON contract in docs/scheme_schema.md). Imported lazily (PEP 562) so that light
callers do not pay for the engine's dependencies.
"""

from importlib import import_module

_EXPORTS = {"Planner": "engine", "Application": "application", "PlanResult": "scheme",
            "parse_application": "application"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'scheme_engine' has no attribute {name!r}")
