"""Demo data: one user per role and a few sample instances."""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine import users

DEMO_ATTRIBUTES = {"pm": {"categories": "家电,数码"}}


def create_users(session: Session) -> list[tuple[str, str, list[str]]]:
    """One user per role, named after it, password ``<role>-demo``; existing users are kept."""
    created = []
    for role in users.ROLES:
        password = f"{role}-demo"
        if users.find_user(session, role) is None:
            users.add_user(session, role, password, [role], DEMO_ATTRIBUTES.get(role))
        created.append((role, password, [role]))
    session.commit()
    return created


def create_sample_instances(session: Session) -> None:
    """Filled in once the procedures are modelled (issue 4)."""
    return None
