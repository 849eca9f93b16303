"""Signing in and out, the language switch, and the home page that sends each user to their work.

Sign-in attempts go through ``engine.logins``: a wrong password is recorded, and
after too many (per user name or per address) the page answers 429 with
``Retry-After`` until the lock lifts, whatever the password.
"""
from __future__ import annotations

import math

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine import logins, users
from engine.errors import AuthenticationError, TooManyRequestsError
from engine.models import DESIGNER
from webui.db import get_session
from webui.http_status import status_of
from webui.pages.display import LANGUAGES, safe_next
from webui.pages.signed_in import ADMIN_ROLES, AUDIT_ROLES, SignedIn, page

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Stay signed in on this computer"))


def home_url() -> str:
    """Where a user starts: the worklist, the audit search or the definitions, by role."""
    if current_user.works and not current_user.has(*ADMIN_ROLES):
        return url_for("worklist.index")
    if current_user.has(*AUDIT_ROLES) and not current_user.has(*ADMIN_ROLES):
        return url_for("audit.index")
    if current_user.has(*ADMIN_ROLES):
        return url_for("worklist.index")
    if current_user.has(DESIGNER):
        return url_for("admin.definitions_list")
    return url_for("instances.index")


@bp.get("/")
@page()
def home():
    return redirect(home_url())


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        db = get_session()
        username, address = form.username.data.strip(), request.remote_addr or ""
        try:
            logins.check_allowed(db, username, address, logins.Channel.WEB)
            user = users.authenticate(db, username, form.password.data)
        except TooManyRequestsError as exc:
            retry_after = exc.details["retry_after"]
            error, status, headers = _too_many_attempts(retry_after), status_of(exc), {"Retry-After": str(retry_after)}
        except AuthenticationError as exc:
            logins.record_failure(db, username, address, logins.Channel.WEB)
            error, status = _("Wrong username or password."), status_of(exc)
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session for the signed-in user
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(SignedIn(user), remember=bool(form.remember.data))
            flash(_("Welcome, %(name)s.", name=user.display_name or user.username), "success")
            return redirect(safe_next(request.args.get("next"), home_url()))
        finally:
            db.commit()
    elif current_user.is_authenticated and request.method == "GET":
        return redirect(home_url())
    return render_template("auth/login.html", form=form, error=error), status, headers


def _too_many_attempts(retry_after: int) -> str:
    return _("Too many failed sign-ins for this user name or from this computer. Try again in %(minutes)d "
             "minute(s); ask an administrator to reset your password if you forgot it.",
             minutes=math.ceil(retry_after / 60))


@bp.post("/logout")
def logout():
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the language of every page (kept in the session, also before signing in)."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("auth.home")))
