"""Property-based API testing with schemathesis against the app's own OpenAPI document.

For every operation, generated requests (valid ones and, separately, invalid ones), as the role
the operation is meant for: no 5xx, every status documented, every response body conforming to
its schema, content types as documented. Bounded: a few examples per operation and mode.
"""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Service  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 8}
ADMIN_PREFIXES = ("/v1/networks", "/v1/tokens", "/v1/policy", "/v1/capacity")


def _run_operation(op: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_openapi_conformance(service: Service) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.app)
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) >= 25
    failures = []
    for op in ops:
        who = "admin" if op.path.startswith(ADMIN_PREFIXES) else "cust_a"
        for mode in EXAMPLES:
            try:
                _run_operation(op, mode, service.h(who))
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # no parameter to make invalid
            except Exception as exc:  # collect every operation's failure, report them together
                failures.append(f"{op.method.upper()} {op.path} [{mode.value}]: "
                                f"{type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
