"""The web pages: one blueprint per noun, signed in with Flask-Login, CSRF-checked, in Chinese or English.

``auth`` (sign-in, language, home), ``worklist``, ``tasks``, ``instances`` (start, list, one
instance), ``incidents``, ``audit`` (search, timelines, exports), ``admin`` (definitions) and
``users``. Shared by them: ``signed_in`` (the user and the role check of every page),
``display`` (languages, formats, paging, the menu), ``errors`` (error pages), ``forms`` (forms as
HTML inputs and back) and ``history`` (events as people read them, the diagram's highlight).

Every form post carries a CSRF token (Flask-WTF); the ``/api/v1`` blueprint is exempt: it
authenticates every request with Basic or bearer credentials, never a cookie.
"""
from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from webui.pages import (
    admin, audit, auth, collaboration, display, errors, history, incidents, instances, operations, reports,
    tasks, users, values_view, worklist,
)
from webui.pages import variables

csrf = CSRFProtect()
BLUEPRINTS = (auth, worklist, tasks, instances, audit, operations, admin, users, incidents, collaboration, reports,
              variables)
for _taking_files in (tasks, instances, collaboration):  # a post over the request limit back to its page (issue 14)
    _taking_files.bp.register_error_handler(413, collaboration.too_large_back)


def init_app(app: Flask, api_name: str) -> None:
    """Sign-in, CSRF (not for the blueprint ``api_name``), languages, error pages and the blueprints."""
    csrf.init_app(app)

    @app.before_request
    def check_csrf() -> None:
        if not app.config.get("WTF_CSRF_ENABLED", True) or request.endpoint is None:
            return
        if request.blueprints and request.blueprints[-1] == api_name:
            return  # the API takes no cookies, so no cross-site request can act for a user
        csrf.protect()

    Babel(app, locale_selector=display.select_locale)  # the zone: BABEL_DEFAULT_TIMEZONE (LIUCHENG_TIMEZONE)
    display.init_app(app)
    values_view.init_app(app)  # show_value: data as people read it (issue 14)
    collaboration.init_app(app)  # the comments and attachments panels (issue 14)
    app.jinja_env.filters.update(status_label=history.status_label, event_label=history.event_label)
    errors.init_app(app)
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
