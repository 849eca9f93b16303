"""Admins: users, their roles and attributes (e.g. a PM's categories), passwords and deactivation.

The engine offers ``users.add_user`` and ``users.set_attribute``; changing
roles, removing attributes, resetting a password and deactivating are written
here on the same models (the engine has no such commands yet).
"""
from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from engine import users
from engine.errors import EngineError
from engine.models import ADMIN, Membership, Role, User
from webui.db import get_session
from webui.pages.signed_in import ADMIN_ROLES, actor, page

bp = Blueprint("users", __name__, url_prefix="/admin/users")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def all_roles() -> list[Role]:
    return list(get_session().scalars(select(Role).order_by(Role.id)))


def parse_attributes(text: str) -> tuple[dict[str, str], list[str]]:
    """``key=value`` lines → attributes, and the lines that are not such pairs."""
    result, bad = {}, []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not ATTRIBUTE_KEY.match(key):
            bad.append(line.strip())
        else:
            result[key] = value.strip()
    return result, bad


def chosen_roles(errors: dict) -> list[str]:
    known = {r.id for r in all_roles()}
    roles = [r for r in request.form.getlist("roles") if r]
    unknown = [r for r in roles if r not in known]
    if unknown:
        errors["roles"] = _("Unknown roles: %(roles)s", roles=", ".join(unknown))
    return [r for r in roles if r in known]


@bp.get("/")
@page(*ADMIN_ROLES)
def index():
    rows = list(get_session().scalars(select(User).order_by(User.username)))
    return render_template("users/index.html", rows=rows, roles=all_roles(), errors={}, values={})


@bp.post("/")
@page(*ADMIN_ROLES)
def create():
    session = get_session()
    errors: dict[str, str] = {}
    roles = chosen_roles(errors)
    attributes, bad = parse_attributes(request.form.get("attributes", ""))
    if bad:
        errors["attributes"] = _("Write one key=value per line (not: %(lines)s).", lines="; ".join(bad))
    if not errors:
        try:
            user = users.add_user(session, request.form.get("username", "").strip(), request.form.get("password", ""),
                                  roles, attributes, request.form.get("display_name", "").strip())
            session.commit()
        except EngineError as exc:
            session.rollback()
            errors["username"] = exc.message
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("users.index"))
    rows = list(session.scalars(select(User).order_by(User.username)))
    return render_template("users/index.html", rows=rows, roles=all_roles(), errors=errors,
                           values=request.form), 422


@bp.get("/<username>")
@page(*ADMIN_ROLES)
def edit(username: str):
    user = users.get_user(get_session(), username)
    return render_template("users/edit.html", user=user, roles=all_roles(), errors={}, values=None)


@bp.post("/<username>")
@page(*ADMIN_ROLES)
def update(username: str):
    session = get_session()
    user = users.get_user(session, username)
    errors: dict[str, str] = {}
    roles = chosen_roles(errors)
    attributes, bad = parse_attributes(request.form.get("attributes", ""))
    active = request.form.get("active") == "on"
    password = request.form.get("password", "")
    if bad:
        errors["attributes"] = _("Write one key=value per line (not: %(lines)s).", lines="; ".join(bad))
    if password and len(password) < 4:
        errors["password"] = _("A password needs at least 4 characters.")
    if user.id == actor().id and (ADMIN not in roles or not active):
        errors["roles"] = _("You cannot remove your own admin role or deactivate yourself.")
    if errors:
        return render_template("users/edit.html", user=user, roles=all_roles(), errors=errors,
                               values=request.form), 422
    user.display_name = request.form.get("display_name", "").strip()[:128] or user.username
    user.active = active
    user.memberships = [m for m in user.memberships if m.role_id in roles] + [
        Membership(role_id=r) for r in roles if r not in user.roles]
    user.attributes = [a for a in user.attributes if a.key in attributes]
    for key, value in attributes.items():
        users.set_attribute(session, user, key, value)
    if password:
        user.password_hash = generate_password_hash(password, users.PASSWORD_METHOD)
    session.commit()
    flash(_("User %(name)s saved.", name=user.username), "success")
    return redirect(url_for("users.edit", username=user.username))


def attribute_text(user: User) -> str:
    return "\n".join(f"{a.key}={a.value}" for a in sorted(user.attributes, key=lambda a: a.key))


bp.add_app_template_global(attribute_text)
