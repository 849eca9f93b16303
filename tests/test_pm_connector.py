"""The merchant connectors (engine/connectors/merchants.py): pm.propose and pm.check."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from engine import users
from engine.connectors import Context, find_connector
from engine.connectors.merchants import (QUALIFICATIONS, active_merchant_counts, assignment_problems,
                                         categories_of, propose_pm)
from engine.models import Instance

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def onboarding_definition(deploy, db_session):
    deploy(ROOT / "processes" / "pm_onboarding.bpmn", ROOT / "forms")
    from engine import definitions
    return definitions.get_definition(db_session, "pm_onboarding")


def add_pm(session, name, categories, active=True, roles=("pm",)):
    user = users.add_user(session, name, "secret-" + name, roles, {"categories": categories})
    user.active = active
    session.flush()
    return user


def add_instance(session, definition, status, data, process_id="pm_onboarding"):
    session.add(Instance(definition_id=definition.id, process_id=process_id, version=definition.version,
                         status=status, data=data, state="", etag="", started_at=datetime(2026, 11, 1),
                         started_by="test"))
    session.flush()


def test_connectors_are_registered_with_their_inputs():
    propose = find_connector("pm.propose")
    check = find_connector("pm.check")
    assert propose is not None and set(propose.inputs) == {"category"} and propose.outputs == ["pm_proposed"]
    assert check is not None and set(check.inputs) == {"pm", "category", "pm_proposed", "qualifications_checked",
                                                       "assignment_note"}


def test_categories_attribute_is_split_on_commas(db_session):
    user = add_pm(db_session, "pm_a", " 家电, 数码，服装、母婴;; ")
    assert categories_of(user) == ["家电", "数码", "服装", "母婴"]


def test_active_merchants_are_running_or_completed_confirmed_assignments(db_session, onboarding_definition):
    d = onboarding_definition
    add_pm(db_session, "pm_a", "家电")
    add_pm(db_session, "pm_b", "家电,数码")
    add_instance(db_session, d, "running", {"pm": "pm_a", "pm_assigned": True})
    add_instance(db_session, d, "completed", {"pm": "pm_a", "pm_assigned": True, "outcome": "onboarded"})
    add_instance(db_session, d, "running", {"pm": "pm_b", "pm_assigned": True})
    for _ in range(3):
        add_instance(db_session, d, "cancelled", {"pm": "pm_b", "pm_assigned": True})
    add_instance(db_session, d, "failed", {"pm": "pm_b", "pm_assigned": True})
    add_instance(db_session, d, "running", {"pm": "pm_b", "pm_assigned": False})  # prefilled proposal only
    add_instance(db_session, d, "running", {"pm": "pm_b"})
    add_instance(db_session, d, "running", {"pm": "pm_b", "pm_assigned": True}, process_id="other_process")
    assert active_merchant_counts(db_session, ["pm_a", "pm_b", "pm_x"]) == {"pm_a": 2, "pm_b": 1, "pm_x": 0}
    assert propose_pm(db_session, "家电") == "pm_b"
    add_instance(db_session, d, "running", {"pm": "pm_b", "pm_assigned": True})
    assert propose_pm(db_session, "家电") == "pm_a"  # 2 = 2: the first username
    assert propose_pm(db_session, "数码") == "pm_b"  # the only PM of the category


def test_only_active_users_with_the_pm_role_are_proposed(db_session, onboarding_definition):
    add_pm(db_session, "pm_a", "家电", active=False)
    add_pm(db_session, "cs_b", "家电", roles=("aftersales_cs",))
    add_pm(db_session, "pm_c", "数码")
    assert propose_pm(db_session, "家电") == ""
    assert propose_pm(db_session, "") == ""
    add_pm(db_session, "pm_z", "家电")
    assert propose_pm(db_session, " 家电 ") == "pm_z"


def test_propose_connector_uses_the_command_session(db_session, onboarding_definition):
    add_pm(db_session, "pm_a", "家电")
    context = Context(db_session, None, "pm_onboarding")
    assert find_connector("pm.propose").func(context, category="家电") == "pm_a"
    assert find_connector("pm.propose").func(context, category="母婴") == ""


def test_check_accepts_a_complete_assignment(db_session):
    add_pm(db_session, "pm_a", "家电")
    add_pm(db_session, "pm_b", "服装")
    assert assignment_problems(db_session, "pm_a", "家电", "pm_a", list(QUALIFICATIONS), "") == []
    # another category's PM is allowed (there may be no PM for this category); an override needs a reason
    assert assignment_problems(db_session, "pm_b", "家电", "pm_a", list(QUALIFICATIONS), "熟悉该品牌") == []
    assert assignment_problems(db_session, "pm_b", "母婴", "", list(QUALIFICATIONS), None) == []


def test_check_lists_every_problem(db_session):
    add_pm(db_session, "pm_a", "家电")
    add_pm(db_session, "pm_off", "家电", active=False)
    add_pm(db_session, "wh", "家电", roles=("warehouse",))
    problems = assignment_problems(db_session, "ghost", "家电", "pm_a", ["communication"], "  ")
    assert len(problems) == 3
    assert "ghost" in problems[0] and "platform_backend" in problems[1] and "改派" in problems[2]
    assert "缺：“对运营平台后台管理非常熟悉”、" in problems[1]  # by the labels the form shows (issue 14)
    assert "拥有较好的上传下达沟通能力" not in problems[1]
    assert "不存在或已停用" in assignment_problems(db_session, "pm_off", "家电", "", list(QUALIFICATIONS), "")[0]
    assert "不是 PM" in assignment_problems(db_session, "wh", "家电", "", list(QUALIFICATIONS), "")[0]
    assert "不存在" in assignment_problems(db_session, "", "家电", "", list(QUALIFICATIONS), "")[0]
    context = Context(db_session, None, "pm_onboarding")
    assert find_connector("pm.check").func(context, pm="pm_a", category="家电", pm_proposed="pm_a",
                                           qualifications_checked=list(QUALIFICATIONS) * 2,
                                           assignment_note=None) == []
