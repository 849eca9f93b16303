"""Users, roles, memberships, attributes and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import clock
from engine.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from engine.models import ApiToken, Membership, Role, User, UserAttribute

# The roles of PROCEDURES.md plus the two the product adds.
ROLES = {
    "supervisor": ("部门主管", "Supervisor"),
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
    "admin": ("管理员", "Administrator"),
    "designer": ("流程设计", "Process designer"),
    "auditor": ("审计", "Auditor"),
    "integrator": ("集成系统", "Integration (shop platform, couriers)"),
}
PASSWORD_METHOD = "pbkdf2:sha256:120000"


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
             attributes: Optional[dict[str, str]] = None, display_name: str = "") -> User:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValidationError("A username is 1-64 characters without spaces.")
    if not password or len(password) < 4:
        raise ValidationError("A password needs at least 4 characters.")
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
    return user


def set_attribute(session: Session, user: User, key: str, value: str) -> None:
    for attr in user.attributes:
        if attr.key == key:
            attr.value = value
            return
    user.attributes.append(UserAttribute(key=key, value=value))


def authenticate(session: Session, username: str, password: str) -> User:
    user = find_user(session, username)
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        raise AuthenticationError("Wrong username or password.")
    return user


def issue_token(session: Session, user: User, label: str = "") -> str:
    """A new bearer token for ``user``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash(token), label=label, created_at=clock.now()))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    user = session.get(User, row.user_id) if row else None
    if user is None or not user.active:
        raise AuthenticationError("Unknown or revoked token.")
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def users_with_role(session: Session, role: str) -> list[User]:
    return list(session.scalars(
        select(User).join(Membership).where(Membership.role_id == role, User.active.is_(True)).order_by(User.username)))
