"""Request dependencies: the service context and the caller's identity and role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import ROLES, Principal, authenticate

from .context import ServiceContext
from .errors import ApiError

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="API token: `Authorization: Bearer gs_...` "
                                "(`gridscheme token create`)")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def ctx(request: Request) -> ServiceContext:
    """The service context."""
    return request.app.state.ctx


def principal(request: Request,
              creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The authenticated caller; 401 for a missing, unknown or revoked token."""
    if creds is None:
        raise ApiError(401, "unauthorized", "an API token is required: send "
                       "'Authorization: Bearer <token>'", field="Authorization", headers=_CHALLENGE)
    who = authenticate(request.app.state.ctx.db, creds.credentials)
    if who is None:
        raise ApiError(401, "unauthorized", "the API token is unknown or revoked",
                       field="Authorization", headers=_CHALLENGE)
    return who


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting only the given roles (403 for the others)."""
    allowed = frozenset(roles or ROLES)

    def dep(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in allowed:
            raise ApiError(403, "forbidden", f"this needs the role {' or '.join(sorted(allowed))}; "
                           f"the token's role is {who.role}", field="Authorization")
        return who

    return dep


ANY_ROLE = require("admin", "designer", "customer")
STAFF = require("admin", "designer")
ADMIN = require("admin")

# Annotated parameter types for the routes (FastAPI's recommended style).
Ctx = Annotated[ServiceContext, Depends(ctx)]
AnyRole = Annotated[Principal, Depends(ANY_ROLE)]
Staff = Annotated[Principal, Depends(STAFF)]
Admin = Annotated[Principal, Depends(ADMIN)]
