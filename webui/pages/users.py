"""Admins: users, their roles and attributes (e.g. a PM's categories), passwords and deactivation.

The page reads the form (roles ticked, ``key=value`` attribute lines) and asks the engine:
``users.add_user`` creates, ``users.update_problems`` says what is wrong with a change (shown per
field, all at once) and ``users.update_user`` makes it.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from engine import users
from engine.errors import EngineError
from engine.models import Role, User
from webui.db import get_session
from webui.pages.display import engine_text
from webui.pages.signed_in import ADMIN_ROLES, actor, page

bp = Blueprint("users", __name__, url_prefix="/admin/users")
PROBLEM_TEXTS = {  # the engine's problems with a change, in the reader's language
    users.PASSWORD_TOO_SHORT: _l("A password needs at least 4 characters."),
    users.NOT_YOURSELF: _l("You cannot remove your own admin role or deactivate yourself."),
}


def all_roles() -> list[Role]:
    return users.list_roles(get_session())


def parse_attributes(text: str) -> tuple[dict[str, str], list[str]]:
    """``key=value`` lines → attributes, and the lines that are not such pairs."""
    result, bad = {}, []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not users.ATTRIBUTE_KEY.match(key):
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
    rows = users.list_users(get_session())
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
                                  roles, attributes, request.form.get("display_name", "").strip(),
                                  actor=actor().username)
            session.commit()
        except EngineError as exc:
            session.rollback()
            errors["username"] = engine_text(exc.message)
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("users.index"))
    rows = users.list_users(session)
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
    problems = users.update_problems(session, user, actor(), roles, attributes, password, active)
    errors.update({field: str(PROBLEM_TEXTS.get(text, text)) for field, text in problems.items()})
    if errors:
        return render_template("users/edit.html", user=user, roles=all_roles(), errors=errors,
                               values=request.form), 422
    user = users.update_user(session, username, actor(), roles, attributes, password, active,
                             request.form.get("display_name", ""))
    flash(_("User %(name)s saved.", name=user.username), "success")
    return redirect(url_for("users.edit", username=user.username))


def attribute_text(user: User) -> str:
    return "\n".join(f"{a.key}={a.value}" for a in sorted(user.attributes, key=lambda a: a.key))


bp.add_app_template_global(attribute_text)
