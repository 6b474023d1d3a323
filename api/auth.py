"""API tokens and roles.

Roles: ``admin`` (networks, policy, tokens, everything a designer may do), ``designer`` (every
application, full network detail, capacity maps) and ``customer`` (their own applications and
jobs only; their maps and exports carry their routes and connection points, never the rest of
the network). A customer token belongs to a *principal*, the customer's id; every application
or job a token creates is owned by its principal, so several tokens of one customer share data.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored. A fast unsalted
hash is enough here because the secret is random and long (no dictionary to attack), and it
lets a request find its token by an indexed equality look-up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from grid_models.errors import InputError

from .store.db import Database, rowcount
from .store.models import ApiToken, utcnow

ROLES = ("admin", "designer", "customer")
STAFF = frozenset({"admin", "designer"})
TOKEN_PREFIX = "gs_"
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, role and owning principal."""

    token_id: str
    role: str
    principal: str
    name: str = ""

    @property
    def is_staff(self) -> bool:
        """Designers and admins see every application and the network."""
        return self.role in STAFF


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as listed (never the secret)."""

    id: str
    role: str
    principal: str
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"role: {role!r} is not a role; use one of {', '.join(ROLES)}", field="role")
    return role


def create_token(db: Database, role: str, principal: str | None = None, name: str = "") -> tuple[str, TokenInfo]:
    """Create a token; returns the secret (shown once) and its stored record.

    Parameters
    ----------
    role : {"admin", "designer", "customer"}
    principal : str, optional
        Owner of the data the token creates. Required for customers (their customer id);
        staff tokens default to ``staff:<token id>``.
    name : str
        A label for listings (who holds it).

    Raises
    ------
    InputError
        Unknown role, or a customer token without a principal.
    """
    _check_role(role)
    principal = (principal or "").strip()
    if role == "customer" and not principal:
        raise InputError("principal: a customer token needs the customer's id (--principal)",
                         field="principal")
    if len(principal) > 200 or len(name) > 200:
        raise InputError("principal/name: at most 200 characters", field="principal")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tid = "t_" + secrets.token_hex(6)
    row = ApiToken(id=tid, token_hash=hash_token(token), role=role,
                   principal=principal or f"staff:{tid}", name=name, created_at=utcnow())
    with db.write() as s:
        s.add(row)
    return token, _info(row)


def revoke_token(db: Database, token_id: str) -> bool:
    """Revoke a token by id; False when no such active token exists."""
    with db.write() as s:
        res = s.execute(sa.update(ApiToken).where(ApiToken.id == token_id,
                                                  ApiToken.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
        return bool(rowcount(res))


def list_tokens(db: Database, include_revoked: bool = True) -> list[TokenInfo]:
    """Every token, newest first."""
    with db.read() as s:
        q = sa.select(ApiToken).order_by(ApiToken.created_at.desc())
        if not include_revoked:
            q = q.where(ApiToken.revoked_at.is_(None))
        return [_info(r) for r in s.scalars(q)]


def authenticate(db: Database, token: str | None) -> Principal | None:
    """The caller behind a token, or None for a missing, unknown or revoked token."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        return None
    with db.read() as s:
        row = s.execute(sa.select(ApiToken.id, ApiToken.role, ApiToken.principal, ApiToken.name)
                        .where(ApiToken.token_hash == hash_token(token),
                               ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None
    return Principal(token_id=row.id, role=row.role, principal=row.principal, name=row.name)


def _info(r: ApiToken) -> TokenInfo:
    return TokenInfo(r.id, r.role, r.principal, r.name, r.created_at, r.revoked_at)
