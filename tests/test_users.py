"""Changing a user (``users.update_user``): roles, attributes, password and deactivation in one
command, refused as a whole with the problem of each field."""
from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

from engine import users
from engine.errors import ValidationError


@pytest.fixture
def session(app):
    with app.extensions["liucheng_db"].session() as session:
        yield session


@pytest.fixture
def root(session):
    return users.add_user(session, "root", "root-pw", ["admin"])


def test_roles_attributes_password_and_activity_change_together(session, root):
    users.add_user(session, "wang", "old-pw", ["warehouse"], {"categories": "A", "site": "SH"})
    session.commit()

    changed = users.update_user(session, "wang", root, ["finance", "warehouse"], {"categories": "A,B"},
                                password="new-pw", active=False, display_name=" 王 ")

    session.expire_all()
    wang = users.get_user(session, "wang")
    assert changed.id == wang.id and wang.display_name == "王" and wang.active is False
    assert wang.roles == {"finance", "warehouse"}
    assert {a.key: a.value for a in wang.attributes} == {"categories": "A,B"}
    assert check_password_hash(wang.password_hash, "new-pw")


def test_an_empty_password_keeps_the_old_one(session, root):
    users.add_user(session, "li", "li-pw", ["finance"])
    session.commit()
    users.update_user(session, "li", root, ["finance"], {})
    assert check_password_hash(users.get_user(session, "li").password_hash, "li-pw")


@pytest.mark.parametrize("change, field, message", [
    ({"password": "abc"}, "password", users.PASSWORD_TOO_SHORT),
    ({"roles": ["warehouse", "no_such_role"]}, "roles", "Unknown roles: no_such_role"),
    ({"attributes": {"bad key": "x"}}, "attributes", "not: bad key"),
])
def test_a_refused_change_changes_nothing(session, root, change, field, message):
    users.add_user(session, "zhou", "zhou-pw", ["warehouse"])
    session.commit()
    arguments = {"roles": ["warehouse"], "attributes": {}, **change}
    with pytest.raises(ValidationError) as refused:
        users.update_user(session, "zhou", root, arguments.pop("roles"), arguments.pop("attributes"), **arguments)
    assert message in refused.value.details[field][0]
    session.expire_all()
    zhou = users.get_user(session, "zhou")
    assert zhou.roles == {"warehouse"} and check_password_hash(zhou.password_hash, "zhou-pw")


@pytest.mark.parametrize("roles, active", [(["supervisor"], True), (["admin"], False)])
def test_an_admin_keeps_their_own_admin_role_and_account(session, root, roles, active):
    session.commit()
    with pytest.raises(ValidationError) as refused:
        users.update_user(session, "root", root, roles, {}, active=active)
    assert refused.value.details == {"roles": [users.NOT_YOURSELF]}
