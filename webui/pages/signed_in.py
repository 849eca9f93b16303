"""Who is using the pages: Flask-Login's signed-in user, and ``page``, the role check of every page.

Roles decide every page (not only the menu): ``page(*roles)`` lets a signed-in
user with one of ``roles`` in (any signed-in user when none are given);
``changes=True`` also refuses a user who is only an auditor (``User.read_only``:
auditors read everything and change nothing, as in the API); ``works=True`` needs a
role that does work (not only ``NON_WORKER_ROLES``).
"""
from __future__ import annotations

import functools
from typing import Callable, Optional

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user

from engine import access
from engine.models import ADMIN, AUDITOR, MANAGER_ROLES, NON_WORKER_ROLES, User
from webui.db import get_session

AUDIT_ROLES = (AUDITOR, ADMIN)
ADMIN_ROLES = (ADMIN,)
DESIGN_ROLES = tuple(sorted(access.DEPLOYERS))  # upload and browse definitions: admin, designer
INCIDENT_ROLES = tuple(sorted(MANAGER_ROLES))  # retry and resolve incidents: admin, supervisor
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.session_protection = "basic"


class SignedIn(UserMixin):
    """The engine's ``User`` as Flask-Login needs it; the id changes with the password."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.password_hash[-16:]}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def display_name(self) -> str:
        return self.user.display_name or self.user.username

    @property
    def roles(self) -> set[str]:
        return self.user.roles

    def has(self, *roles: str) -> bool:
        return bool(self.user.roles & set(roles))

    @property
    def is_pure_auditor(self) -> bool:
        return self.user.read_only

    @property
    def works(self) -> bool:
        """Has a role that receives tasks or starts processes (anything but auditor/integrator/designer only)."""
        return bool(self.roles - NON_WORKER_ROLES)


@login_manager.user_loader
def load_user(user_id: str) -> Optional[SignedIn]:
    number, _sep, fingerprint = user_id.partition(":")
    if not (number.isascii() and number.isdigit()):
        return None
    user = get_session().get(User, int(number))
    if user is None or not user.active or user.password_hash[-16:] != fingerprint:
        return None
    return SignedIn(user)


def actor() -> User:
    """The engine user behind the signed-in web user."""
    return current_user.user


def page(*roles: str, changes: bool = False, works: bool = False) -> Callable:
    """Decorate a view: signed in, with one of ``roles`` (if given); ``changes`` refuses pure auditors;
    ``works`` needs a role that does work (not only auditor or integrator)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has(*roles):
                abort(403)
            if (changes and current_user.is_pure_auditor) or (works and not current_user.works):
                abort(403)
            return view(*args, **kwargs)

        wrapped.page_roles = roles
        return wrapped
    return decorate
