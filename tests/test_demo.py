"""``liucheng demo``'s data: a user per role and sample instances in several states."""
from sqlalchemy import select

from engine import users
from engine.models import Instance
from webui import demo


def test_demo_creates_a_user_per_role_and_samples_once(db_session, deploy):
    deploy()
    created = demo.create_users(db_session)
    assert {name for name, _, _ in created} == set(users.ROLES)
    assert users.authenticate(db_session, "finance", "finance-demo").roles == {"finance"}
    assert demo.create_sample_instances(db_session) >= 3
    statuses = set(db_session.scalars(select(Instance.status)))
    assert {"running", "completed"} <= statuses
    assert demo.create_sample_instances(db_session) == 0  # idempotent
    assert demo.create_users(db_session) == created
