"""A database URL as the command line shows it: never with its password.

``liucheng`` (webui/cli.py) and ``liucheng audit`` (webui/audit_cli.py) both name the database in their
error lines; they take the URL and the driver's complaint through here so neither prints the password
the URL holds, even when the driver quotes the URL back.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def password(url: str) -> Optional[str]:
    """The password in ``url``, or None when it has none or is not a URL SQLAlchemy can read."""
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def shown(url: str) -> str:
    """``url`` without its password (a URL that cannot be read is not repeated when it may hold one)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the URL given" if "@" in url else url


def first_line(error: BaseException, url: str) -> str:
    """The first line of ``error``'s text, with ``url``'s password (if the driver quoted it) as ``***``."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    secret = password(url)
    return text.replace(secret, "***") if secret else text
