"""Users, roles, memberships, attributes and API tokens: creating and changing users (the rules a
username, a password and an admin's own account follow), signing in, and the tokens integrations use.

Every change is an operation in the history (``history.record_operation``, in the change's own
transaction; a refused change records nothing): ``user_create`` (roles and attributes, never the
password), ``role_change``, ``attribute_change`` (one per key), ``user_update`` (display name, active, and
``password`` with only ``"changed"`` as its new value), ``token_issue`` and ``token_revoke`` (never the
secret). The actor is the user who did it, ``cli:<os user>`` from the command line, or ``system``."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterable, Optional

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import clock, history, timestamps
from engine.database import command
from engine.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from engine.models import (ADMIN, AUDITOR, DESIGNER, INTEGRATOR, SUPERVISOR, ApiToken, Membership, Role, User,
                           UserAttribute)

# The roles of the procedures (docs/procedures.md) plus those the product adds.
ROLES = {
    SUPERVISOR: ("部门主管", "Supervisor"),
    "store_manager": ("店长", "Store manager"),
    "presales_cs": ("售前客服", "Pre-sales service"),
    "aftersales_cs": ("售后客服", "After-sales service"),
    "order_clerk": ("开单员", "Order clerk"),
    "warehouse": ("仓管", "Warehouse"),
    "stock_accounts": ("账物组", "Stock accounts"),
    "finance": ("财务", "Finance"),
    "purchasing": ("采购", "Purchasing"),
    "purchaser": ("采购商", "Purchaser"),
    "supplier": ("供应商", "Supplier"),
    "sp_dispatch": ("SP部门", "SP dispatch"),
    "pm": ("PM 商户服务经理", "Merchant PM"),
    "operations": ("运营部", "Operations"),
    "brand_ops": ("品牌运营部", "Brand operations"),
    ADMIN: ("管理员", "Administrator"),
    DESIGNER: ("流程设计", "Process designer"),
    AUDITOR: ("审计", "Auditor"),
    INTEGRATOR: ("集成系统", "Integration (shop platform, couriers)"),
}
PASSWORD_METHOD = "pbkdf2:sha256:120000"
MIN_PASSWORD = 4
PASSWORD_TOO_SHORT = f"A password needs at least {MIN_PASSWORD} characters."
NOT_YOURSELF = "You cannot remove your own admin role or deactivate yourself."
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
RESERVED_NAMES = {"system"}  # the actor of what the engine does by itself (timers, send tasks)
CLI_ACTOR = "cli:"  # prefix of the actor of command-line changes (``cli:<os user>``): no username starts so


def ensure_roles(session: Session) -> None:
    """Create the standard roles that are missing (idempotent)."""
    existing = set(session.scalars(select(Role.id)))
    for role_id, (zh, en) in ROLES.items():
        if role_id not in existing:
            session.add(Role(id=role_id, name_zh=zh, name_en=en))
    session.flush()


def role_ids(session: Session) -> set[str]:
    return set(session.scalars(select(Role.id)))


def find_user(session: Session, username: str) -> Optional[User]:
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"User '{username}' does not exist; create it with `liucheng user add`.")
    return user


def add_user(session: Session, username: str, password: str, roles: Iterable[str],
             attributes: Optional[dict[str, str]] = None, display_name: str = "", actor: str = "system") -> User:
    """A new user (in the caller's transaction, which commits it), recorded as ``user_create`` by ``actor``."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValidationError("A username is 1-64 characters without spaces.")
    if username.lower() in RESERVED_NAMES or username.lower().startswith(CLI_ACTOR):
        raise ValidationError(f"'{username}' is the engine's own name in the history; pick another username.")
    if not password or len(password) < MIN_PASSWORD:
        raise ValidationError(PASSWORD_TOO_SHORT)
    known = role_ids(session)
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise ValidationError(f"Unknown role(s) {', '.join(unknown)}; use one of {', '.join(sorted(known))}.")
    if find_user(session, username) is not None:
        raise ConflictError(f"User '{username}' already exists; pick another name.")
    user = User(username=username, password_hash=generate_password_hash(password, PASSWORD_METHOD),
                display_name=display_name or username, created_at=clock.now())
    user.memberships = [Membership(role_id=r) for r in roles]
    user.attributes = [UserAttribute(key=k, value=v) for k, v in (attributes or {}).items()]
    session.add(user)
    session.flush()
    history.record_operation(session, actor, "user_create", "user", username,
                             new={"display_name": user.display_name, **_profile(roles, attributes or {})})
    return user


def _profile(roles: Iterable[str], attributes: dict[str, str]) -> dict:
    return {"roles": sorted(roles), "attributes": dict(sorted(attributes.items()))}


def list_users(session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def usernames(session: Session) -> list[str]:
    return list(session.scalars(select(User.username).order_by(User.username)))


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.id)))


def update_problems(session: Session, user: User, actor: User, roles: Iterable[str], attributes: dict[str, str],
                    password: str, active: bool) -> dict[str, str]:
    """What is wrong with changing ``user`` so, by field (``roles``, ``attributes``, ``password``); empty if
    nothing. An admin cannot take away their own admin role or deactivate themselves."""
    problems: dict[str, str] = {}
    roles = list(roles)
    unknown = [r for r in roles if r not in role_ids(session)]
    if unknown:
        problems["roles"] = f"Unknown roles: {', '.join(unknown)}"
    bad_keys = [key for key in attributes if not ATTRIBUTE_KEY.match(key)]
    if bad_keys:
        problems["attributes"] = f"Attribute names are letters, digits, '_', '.' or '-' (not: {', '.join(bad_keys)})."
    if password and len(password) < MIN_PASSWORD:
        problems["password"] = PASSWORD_TOO_SHORT
    if user.id == actor.id and (ADMIN not in roles or not active):
        problems["roles"] = NOT_YOURSELF
    return problems


def update_user(session: Session, username: str, actor: User, roles: Iterable[str], attributes: dict[str, str],
                password: str = "", active: bool = True, display_name: str = "") -> User:
    """An admin's change of a user: display name, roles, attributes (exactly these), a new password
    (empty: kept) and whether the account is active. Refused as a whole with ``ValidationError``
    (details: the problem of each field, ``update_problems``)."""
    roles = list(dict.fromkeys(roles))
    with command(session):
        user = get_user(session, username)
        problems = update_problems(session, user, actor, roles, attributes, password, active)
        if problems:
            raise ValidationError(" ".join(problems.values()), {field: [text] for field, text in problems.items()})
        before = _state(user)
        user.display_name = display_name.strip()[:128] or user.username
        user.active = active
        user.memberships = [m for m in user.memberships if m.role_id in roles] + [
            Membership(role_id=r) for r in roles if r not in user.roles]
        user.attributes = [a for a in user.attributes if a.key in attributes]
        for key, value in attributes.items():
            set_attribute(session, user, key, value)
        if password:
            user.password_hash = generate_password_hash(password, PASSWORD_METHOD)
        record_changes(session, actor.username, username, before, _state(user), bool(password))
    return user


def _state(user: User) -> dict:
    """What an operation records of a user: never the password."""
    return {"display_name": user.display_name, "active": user.active,
            **_profile(user.roles, {a.key: a.value for a in user.attributes})}


def record_changes(session: Session, actor: str, username: str, before: dict, after: dict,
                   password_changed: bool) -> None:
    """One operation per changed thing: roles, each attribute, display name, active, password."""
    def changed(operation: str, property_: str, old, new) -> None:
        history.record_operation(session, actor, operation, "user", username, property=property_, old=old, new=new)

    if before["roles"] != after["roles"]:
        changed("role_change", "roles", before["roles"], after["roles"])
    old_attrs, new_attrs = before["attributes"], after["attributes"]
    for key in sorted(set(old_attrs) | set(new_attrs)):
        if old_attrs.get(key) != new_attrs.get(key):
            changed("attribute_change", key, old_attrs.get(key), new_attrs.get(key))
    for property_ in ("display_name", "active"):
        if before[property_] != after[property_]:
            changed("user_update", property_, before[property_], after[property_])
    if password_changed:
        changed("user_update", "password", None, "changed")


def set_attribute(session: Session, user: User, key: str, value: str) -> None:
    for attr in user.attributes:
        if attr.key == key:
            attr.value = value
            return
    user.attributes.append(UserAttribute(key=key, value=value))


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with this password, or ``AuthenticationError``.

    The password is checked against a hash in every case — a dummy one of the current
    ``PASSWORD_METHOD`` for an unknown user — so the answer takes as long whether the
    name exists or not (no user enumeration by timing).
    """
    user = find_user(session, username)
    stored = user.password_hash if user is not None else _dummy_hash(PASSWORD_METHOD)
    matches = check_password_hash(stored, password)
    if user is None or not user.active or not matches:
        raise AuthenticationError("Wrong username or password.")
    return user


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method)


# -- API tokens -------------------------------------------------------------------------------------
# A token is 32 random bytes shown once; only its sha256 is stored. It expires after
# ``expires_days`` (default 90) and can be revoked. ``last_used_at`` is written at most once per
# ``LAST_USE_PRECISION`` per token, so a busy integration does not cost a write per request.

TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
LAST_USE_PRECISION = timedelta(minutes=1)
GET_A_NEW_TOKEN = "get a new one with POST /api/v1/tokens (HTTP Basic) or `liucheng user token NAME`."


def issue_token(session: Session, user: User, label: str = "", expires_days: int = TOKEN_DAYS,
                actor: Optional[str] = None) -> str:
    """A new bearer token for ``user``; only its hash is stored."""
    return create_token(session, user, label, expires_days, actor)[1]


def create_token(session: Session, user: User, label: str = "", expires_days: int = TOKEN_DAYS,
                 actor: Optional[str] = None) -> tuple[ApiToken, str]:
    """The stored row and the secret of a new token for ``user``, committed, recorded as ``token_issue``
    by ``actor`` (the user themselves unless given)."""
    if isinstance(expires_days, bool) or not isinstance(expires_days, int) \
            or not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise ValidationError(f"A token lasts 1 to {MAX_TOKEN_DAYS} days; {expires_days!r} is not accepted.",
                              {"expires_days": [f"Between 1 and {MAX_TOKEN_DAYS}."]})
    token = secrets.token_urlsafe(32)
    with command(session):
        now = clock.now()
        row = ApiToken(user_id=user.id, token_hash=_hash(token), label=(label or "")[:128], created_at=now,
                       expires_at=now + timedelta(days=expires_days))
        session.add(row)
        session.flush()
        history.record_operation(session, actor or user.username, "token_issue", "token", row.id,
                                 new=_token_facts(row, user.username))
    return row, token


def _token_facts(row: ApiToken, username: str) -> dict:
    """What an operation records of a token: never the secret nor its hash."""
    return {"user": username, "label": row.label, "expires_at": timestamps.iso(row.expires_at)}


def user_for_token(session: Session, token: str) -> User:
    """The active user a valid (known, not revoked, not expired) token belongs to; notes its use."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    now = clock.now()
    if row is None:
        raise AuthenticationError(f"Unknown token; {GET_A_NEW_TOKEN}")
    if row.revoked_at is not None:
        raise AuthenticationError(f"This token was revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC; "
                                  f"{GET_A_NEW_TOKEN}")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationError(f"This token expired at {row.expires_at:%Y-%m-%d %H:%M} UTC; {GET_A_NEW_TOKEN}")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise AuthenticationError("The user of this token is deactivated; ask an administrator.")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_PRECISION:
        _note_use(session, row.id, now)
    return user


def _note_use(session: Session, token_id: int, now: datetime) -> None:
    with command(session):
        session.execute(update(ApiToken).where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USE_PRECISION),
        ).values(last_used_at=now).execution_options(synchronize_session=False))


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """Every token of ``user`` (revoked and expired ones too), oldest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def get_token(session: Session, token_id: int, caller: Optional[User] = None) -> ApiToken:
    """Token ``token_id``; with ``caller``, only one of the caller's own unless the caller is an admin."""
    row = session.get(ApiToken, token_id) if 0 < token_id < 2 ** 31 else None  # an INTEGER column
    if row is None or (caller is not None and row.user_id != caller.id and ADMIN not in caller.roles):
        raise NotFoundError(f"You have no token {token_id}; list yours with GET /api/v1/tokens "
                            f"(or `liucheng user tokens NAME`).")
    return row


def revoke_token(session: Session, token_id: int, caller: Optional[User] = None,
                 actor: Optional[str] = None) -> ApiToken:
    """Revoke a token (see ``get_token`` for whose), recorded as ``token_revoke`` by ``actor`` (the
    caller's name unless given; ``system`` without either); revoking it again keeps the first time and
    records nothing."""
    with command(session):
        row = get_token(session, token_id, caller)
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            owner = session.get(User, row.user_id)
            history.record_operation(session, actor or (caller.username if caller else "system"), "token_revoke",
                                     "token", row.id, property="revoked_at", old=None,
                                     new={**_token_facts(row, owner.username if owner else None),
                                          "revoked_at": timestamps.iso(row.revoked_at)})
    return row


def is_expired(row: ApiToken) -> bool:
    return row.expires_at is not None and row.expires_at <= clock.now()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def users_with_role(session: Session, role: str) -> list[User]:
    return list(session.scalars(
        select(User).join(Membership).where(Membership.role_id == role, User.active.is_(True)).order_by(User.username)))
