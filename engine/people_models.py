"""The people tables (roles, users, their memberships and attributes, API tokens, failed sign-ins), the
role groups every rule about users names, and ``Base``, the declarative base every table of Liucheng
derives from (so all tables share ``Base.metadata``, which Alembic compares).

The bottom of the tables: ``engine.models`` holds the other tables and re-exports everything here, so
``from engine.models import User`` keeps working; import from there.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Role", "User", "Membership", "UserAttribute", "ApiToken", "LoginAttempt", "ADMIN", "SUPERVISOR",
           "AUDITOR", "INTEGRATOR", "DESIGNER", "MANAGER_ROLES", "READ_ALL_ROLES", "NON_WORKER_ROLES",
           "INTEGRATION_ROLES"]

ADMIN, SUPERVISOR, AUDITOR, INTEGRATOR, DESIGNER = "admin", "supervisor", "auditor", "integrator", "designer"
MANAGER_ROLES = frozenset({ADMIN, SUPERVISOR})
"""Manage others' work: unclaim or reassign any task, cancel any instance, retry or resolve incidents."""
READ_ALL_ROLES = frozenset({ADMIN, AUDITOR, SUPERVISOR})
"""See every instance, task, incident and history."""
NON_WORKER_ROLES = frozenset({AUDITOR, INTEGRATOR, DESIGNER})
"""Roles that never work tasks: a user with only these has no worklist."""
INTEGRATION_ROLES = frozenset({ADMIN, INTEGRATOR})
"""Speak for other systems: start any process (whatever its lanes) and send messages."""


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128), default="")
    name_en: Mapped[str] = mapped_column(String(128), default="")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(128), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")
    attributes: Mapped[list["UserAttribute"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[str]:
        return {m.role_id for m in self.memberships}

    @property
    def manages_work(self) -> bool:
        """Admin or supervisor (``MANAGER_ROLES``)."""
        return bool(self.roles & MANAGER_ROLES)

    @property
    def reads_all(self) -> bool:
        """Admin, auditor or supervisor (``READ_ALL_ROLES``): sees every instance."""
        return bool(self.roles & READ_ALL_ROLES)

    @property
    def read_only(self) -> bool:
        """An auditor and nothing else: may read, never act."""
        roles = self.roles
        return bool(roles) and roles <= {AUDITOR}

    def attribute(self, key: str, default: Optional[str] = None) -> Optional[str]:
        for attr in self.attributes:
            if attr.key == key:
                return attr.value
        return default


class Membership(Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="memberships")


class UserAttribute(Base):
    __tablename__ = "user_attributes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(back_populates="attributes")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    label: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)


class LoginAttempt(Base):
    """A failed sign-in or a lockout (who, when, from where); read to throttle brute force."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # "failure" or "locked"
    channel: Mapped[str] = mapped_column(String(8))   # "api" or "web"
