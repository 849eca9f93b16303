"""Scenario tests for contract negotiation 询价 / 报价 / 洽谈 / 签定合同 (process ``contract_negotiation``).

One test per path, walked through the public REST API. ``status`` is read through
``GET /api/v1/instances/<id>`` after every step and must be the current one.

The ``scenario`` fixture here overrides the shared one: it deploys only this process and its
forms, so these tests neither depend on nor wait for the other processes of ``processes/``.
"""
from __future__ import annotations

import pytest


PROCESS = "contract_negotiation"
START = {
    "inquiry_no": "XJ-2026-001", "purchaser": "华联采购", "supplier": "新星服饰",
    "goods": [{"sku": "T-100", "qty": 500}, {"sku": "T-200", "qty": 120}],
    "notes": "请报阶梯价，含电子样本",
}
QUOTE = {
    "quote_tiers": [{"min_qty": 100, "unit_price": "25.00"}, {"min_qty": 500, "unit_price": "22.50"}],
    "currency": "CNY", "quote_valid_until": "2026-12-01", "sample_offer": "electronic",
}
PURCHASER_TERMS = {"quality": "符合国标一等品", "inspection": "到货抽检 5%", "delivery_place": "上海仓",
                   "payment": "货到30天付款"}
SUPPLIER_TERMS = {"quality": "符合国标合格品", "inspection": "出厂检验报告", "delivery_place": "广州工厂交货",
                  "payment": "预付30%，发货前付清"}


@pytest.fixture
def scenario(scenario_only):
    """Only this file's process(es) deployed: other processes' start timers stay out of the counts."""
    return scenario_only(PROCESS)


# -- helpers ------------------------------------------------------------------------------------

def status(scenario, instance_id):
    return scenario.data(instance_id)["status"]


def step(scenario, instance_id, element_id, data, expected_status):
    """Complete one task and check the status the API shows right after it."""
    scenario.complete(instance_id, element_id, data)
    current = scenario.data(instance_id)
    assert current["status"] == expected_status, element_id
    return current


def quick_step(scenario, instance, element_id, data, expected_status):
    """``step`` with two requests instead of four, for the long loop: complete the open task straight from the
    instance view (an unclaimed task may be completed by any member of its role), then read the instance."""
    task = next(t for t in instance["open_tasks"] if t["element_id"] == element_id)
    response = scenario.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data},
                                    headers=scenario.headers(task["role"]))
    assert response.status_code == 200, response.get_json()
    instance = scenario.instance(instance["id"])
    assert instance["data"]["status"] == expected_status, element_id
    return instance


def flows_taken(scenario, instance_id, gateway):
    return [flow for e in scenario.history(instance_id)
            if e["type"] == "gateway_taken" and e["element_id"] == gateway for flow in e["data"]["flows"]]


def start_and_quote(scenario):
    started = scenario.start(PROCESS, START, as_role="purchaser")
    instance_id = started["id"]
    assert status(scenario, instance_id) == "询价"
    assert scenario.data(instance_id)["rounds"] == 0
    assert scenario.open_elements(instance_id) == ["Task_supplier_quote"]
    step(scenario, instance_id, "Task_supplier_quote", QUOTE, "报价")
    assert scenario.open_elements(instance_id) == ["Task_purchaser_review_quote"]
    return instance_id


def accept_quote(scenario, instance_id, **extra):
    data = step(scenario, instance_id, "Task_purchaser_review_quote", {"accept_quote": True, **extra}, "洽谈中")
    assert data["rounds"] == 0
    return data


def sign_both(scenario, instance_id, first="purchaser"):
    assert scenario.open_elements(instance_id) == ["Task_purchaser_sign", "Task_supplier_sign"]
    order = ["purchaser", "supplier"] if first == "purchaser" else ["supplier", "purchaser"]
    step(scenario, instance_id, f"Task_{order[0]}_sign", {f"{order[0]}_signatory": f"{order[0]}签署人"}, "双方同意")
    assert scenario.open_elements(instance_id) == [f"Task_{order[1]}_sign"]
    step(scenario, instance_id, f"Task_{order[1]}_sign", {f"{order[1]}_signatory": f"{order[1]}签署人"}, "已签定")
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed"
    assert scenario.open_elements(instance_id) == []
    return instance["data"]


# -- paths ----------------------------------------------------------------------------------------

def test_quote_rejected(scenario):
    instance_id = start_and_quote(scenario)
    step(scenario, instance_id, "Task_purchaser_review_quote", {"accept_quote": False, "review_notes": "价格太高"}, "拒绝")
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed"
    assert instance["data"]["status"] == "拒绝" and instance["data"]["rounds"] == 0
    assert instance["data"]["accept_quote"] is False
    assert scenario.path(instance_id) == ["Task_supplier_quote", "Task_purchaser_review_quote"]
    assert flows_taken(scenario, instance_id, "Gateway_accept_quote") == ["Flow_quote_rejected"]
    assert scenario.event_types(instance_id)[-1] == "instance_completed"


def test_quote_overdue_after_12_hours_goes_to_the_supervisor(scenario):
    started = scenario.start(PROCESS, START, as_role="purchaser")
    instance_id = started["id"]
    quote_task = scenario.task(instance_id, "Task_supplier_quote")
    assert quote_task["due_at"].startswith("2026-11-02T21:00")  # 12 hours after 09:00
    assert scenario.advance(hours=11, minutes=59) == 0
    assert scenario.open_elements(instance_id) == ["Task_supplier_quote"]
    assert scenario.advance(minutes=1) == 1
    assert scenario.open_elements(instance_id) == ["Task_supervisor_urge_quote"]
    assert status(scenario, instance_id) == "询价"
    fired = [e for e in scenario.history(instance_id) if e["type"] == "timer_fired"]
    assert [e["element_id"] for e in fired] == ["Boundary_quote_12h"]
    step(scenario, instance_id, "Task_supervisor_urge_quote", {"urge_note": "已电话催促，供应商承诺今晚报价"}, "询价")
    assert scenario.open_elements(instance_id) == ["Task_supplier_quote"]
    assert scenario.task(instance_id, "Task_supplier_quote")["due_at"].startswith("2026-11-03T09:00")
    scenario.advance(hours=1)
    step(scenario, instance_id, "Task_supplier_quote", QUOTE, "报价")
    accept_quote(scenario, instance_id)
    step(scenario, instance_id, "Task_purchaser_propose", {"terms": PURCHASER_TERMS}, "洽谈中")
    step(scenario, instance_id, "Task_supplier_review", {"agree": True}, "一方同意")
    step(scenario, instance_id, "Task_purchaser_review", {"agree": True}, "双方同意")
    data = sign_both(scenario, instance_id)
    assert data["status"] == "已签定" and data["rounds"] == 1
    assert data["urge_note"] == "已电话催促，供应商承诺今晚报价"
    assert scenario.path(instance_id)[:3] == ["Task_supervisor_urge_quote", "Task_supplier_quote",
                                              "Task_purchaser_review_quote"]
    cancelled = [e["element_id"] for e in scenario.history(instance_id) if e["type"] == "task_cancelled"]
    assert cancelled == ["Task_supplier_quote"]  # interrupting: the overdue quote task was withdrawn


def test_one_round_purchaser_proposes_and_signs_first(scenario):
    instance_id = start_and_quote(scenario)
    accept_quote(scenario, instance_id)  # first_proposer not given: the purchaser fills in the terms
    assert scenario.open_elements(instance_id) == ["Task_purchaser_propose"]
    data = step(scenario, instance_id, "Task_purchaser_propose", {"terms": PURCHASER_TERMS}, "洽谈中")
    assert data["rounds"] == 1 and data["terms"] == PURCHASER_TERMS
    assert scenario.open_elements(instance_id) == ["Task_supplier_review"]
    step(scenario, instance_id, "Task_supplier_review", {"agree": True}, "一方同意")
    assert scenario.open_elements(instance_id) == ["Task_purchaser_review"]
    step(scenario, instance_id, "Task_purchaser_review", {"agree": True}, "双方同意")
    data = sign_both(scenario, instance_id, first="purchaser")
    assert data["status"] == "已签定" and data["rounds"] == 1 and data["terms"] == PURCHASER_TERMS
    assert data["accept_quote"] is True and data["agree"] is True
    assert scenario.path(instance_id) == [
        "Task_supplier_quote", "Task_purchaser_review_quote", "Task_purchaser_propose", "Task_supplier_review",
        "Task_purchaser_review", "Task_purchaser_sign", "Task_supplier_sign"]
    assert flows_taken(scenario, instance_id, "Gateway_first_proposer") == ["Flow_first_purchaser"]
    assert flows_taken(scenario, instance_id, "Gateway_supplier_agree") == ["Flow_supplier_one_side"]
    assert flows_taken(scenario, instance_id, "Gateway_purchaser_agree") == ["Flow_purchaser_both"]


def test_one_round_supplier_proposes_and_signs_first(scenario):
    instance_id = start_and_quote(scenario)
    accept_quote(scenario, instance_id, first_proposer="supplier")
    assert scenario.open_elements(instance_id) == ["Task_supplier_propose"]
    data = step(scenario, instance_id, "Task_supplier_propose", {"terms": SUPPLIER_TERMS}, "洽谈中")
    assert data["rounds"] == 1 and data["proposed_by"] == "supplier"
    step(scenario, instance_id, "Task_purchaser_review", {"agree": True}, "一方同意")
    step(scenario, instance_id, "Task_supplier_review", {"agree": True}, "双方同意")
    data = sign_both(scenario, instance_id, first="supplier")
    assert data["status"] == "已签定" and data["rounds"] == 1 and data["terms"] == SUPPLIER_TERMS
    assert data["supplier_signatory"] == "supplier签署人" and data["purchaser_signatory"] == "purchaser签署人"
    assert scenario.path(instance_id)[-2:] == ["Task_supplier_sign", "Task_purchaser_sign"]
    assert flows_taken(scenario, instance_id, "Gateway_first_proposer") == ["Flow_first_supplier"]
    assert flows_taken(scenario, instance_id, "Gateway_purchaser_agree") == ["Flow_purchaser_one_side"]
    assert flows_taken(scenario, instance_id, "Gateway_supplier_agree") == ["Flow_supplier_both"]


def test_counter_proposals_reset_agreement(scenario):
    instance_id = start_and_quote(scenario)
    accept_quote(scenario, instance_id)
    # round 1: purchaser's terms; the supplier does not agree and counter-proposes (round 2)
    step(scenario, instance_id, "Task_purchaser_propose", {"terms": PURCHASER_TERMS}, "洽谈中")
    step(scenario, instance_id, "Task_supplier_review", {"agree": False, "review_comment": "付款期太长"}, "洽谈中")
    assert scenario.open_elements(instance_id) == ["Task_supplier_propose"]
    data = step(scenario, instance_id, "Task_supplier_propose", {"terms": SUPPLIER_TERMS}, "洽谈中")
    assert data["rounds"] == 2 and data["terms"] == SUPPLIER_TERMS
    # the purchaser agrees (一方同意), then the supplier revises its own terms: agreement is reset (round 3)
    data = step(scenario, instance_id, "Task_purchaser_review", {"agree": True}, "一方同意")
    assert data["purchaser_agreed"] is True and data["supplier_agreed"] is False
    data = step(scenario, instance_id, "Task_supplier_review", {"agree": False}, "洽谈中")
    assert data["purchaser_agreed"] is False and data["supplier_agreed"] is False
    revised = dict(SUPPLIER_TERMS, payment="预付20%，发货前付清")
    data = step(scenario, instance_id, "Task_supplier_propose", {"terms": revised}, "洽谈中")
    assert data["rounds"] == 3
    # the purchaser counter-proposes (round 4); both agree
    step(scenario, instance_id, "Task_purchaser_review", {"agree": False}, "洽谈中")
    final_terms = dict(revised, delivery_place="上海仓")
    data = step(scenario, instance_id, "Task_purchaser_propose", {"terms": final_terms}, "洽谈中")
    assert data["rounds"] == 4
    step(scenario, instance_id, "Task_supplier_review", {"agree": True}, "一方同意")
    step(scenario, instance_id, "Task_purchaser_review", {"agree": True}, "双方同意")
    data = sign_both(scenario, instance_id, first="supplier")
    assert data["status"] == "已签定" and data["rounds"] == 4 and data["terms"] == final_terms
    assert flows_taken(scenario, instance_id, "Gateway_supplier_agree") == [
        "Flow_supplier_counter", "Flow_supplier_counter", "Flow_supplier_one_side"]
    assert flows_taken(scenario, instance_id, "Gateway_purchaser_agree") == [
        "Flow_purchaser_one_side", "Flow_purchaser_counter", "Flow_purchaser_both"]
    proposals = [e for e in scenario.history(instance_id) if e["type"] == "task_completed"
                 and e["element_id"] in ("Task_purchaser_propose", "Task_supplier_propose")]
    assert [e["data"]["submitted"]["terms"] for e in proposals] == [PURCHASER_TERMS, SUPPLIER_TERMS, revised,
                                                                     final_terms]


def test_three_hundred_rounds_end_signed(scenario):
    """The negotiation loop is unbounded: 300 rounds (601 reviews and proposals) end signed, with the status
    checked after every step (SQLite ~7 s, PostgreSQL ~20-40 s on a busy 2-core machine)."""
    rounds = 300
    instance_id = start_and_quote(scenario)
    accept_quote(scenario, instance_id)
    instance = scenario.instance(instance_id)
    side, other = "purchaser", "supplier"
    for number in range(1, rounds + 1):
        terms = dict(PURCHASER_TERMS if side == "purchaser" else SUPPLIER_TERMS, payment=f"第{number}轮付款方式")
        instance = quick_step(scenario, instance, f"Task_{side}_propose", {"terms": terms}, "洽谈中")
        assert instance["data"]["rounds"] == number
        if number < rounds:  # the other side does not agree and counter-proposes
            instance = quick_step(scenario, instance, f"Task_{other}_review", {"agree": False}, "洽谈中")
            side, other = other, side
    instance = quick_step(scenario, instance, f"Task_{other}_review", {"agree": True}, "一方同意")
    quick_step(scenario, instance, f"Task_{side}_review", {"agree": True}, "双方同意")
    data = sign_both(scenario, instance_id)
    assert data["status"] == "已签定" and data["rounds"] == rounds
    assert data["terms"]["payment"] == f"第{rounds}轮付款方式"
    history = scenario.history(instance_id)
    proposals = [e for e in history if e["type"] == "task_completed"
                 and e["element_id"] in ("Task_purchaser_propose", "Task_supplier_propose")]
    assert len(proposals) == rounds
    assert [e["data"]["submitted"]["terms"]["payment"] for e in proposals] == [
        f"第{number}轮付款方式" for number in range(1, rounds + 1)]
    counted = [e["data"]["changed"]["rounds"] for e in history if e["type"] == "script_changed_data"
               and e["element_id"] in ("Script_purchaser_submitted", "Script_supplier_submitted")]
    assert counted == list(range(1, rounds + 1))
    assert history[-1]["type"] == "instance_completed"


# -- contract-only clients ----------------------------------------------------------------------------------
# A client that knows only the data contract (docs/procedures.md §4) walks the process: the quote and the signatures
# take {} (no contract field), the reviews take only accept_quote / agree, a proposal only terms.

CONTRACT_START = {key: START[key] for key in ("inquiry_no", "purchaser", "supplier", "goods")}


def test_contract_only_quote_rejected(scenario):
    instance_id = scenario.start(PROCESS, CONTRACT_START, as_role="purchaser")["id"]  # notes left out
    assert status(scenario, instance_id) == "询价"
    step(scenario, instance_id, "Task_supplier_quote", {}, "报价")
    step(scenario, instance_id, "Task_purchaser_review_quote", {"accept_quote": False}, "拒绝")
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed"
    assert instance["data"]["status"] == "拒绝" and instance["data"]["rounds"] == 0


def test_contract_only_one_round_signed(scenario):
    instance_id = scenario.start(PROCESS, START, as_role="purchaser")["id"]
    assert status(scenario, instance_id) == "询价"
    step(scenario, instance_id, "Task_supplier_quote", {}, "报价")
    step(scenario, instance_id, "Task_purchaser_review_quote", {"accept_quote": True}, "洽谈中")
    assert scenario.open_elements(instance_id) == ["Task_purchaser_propose"]
    # terms stay required where a side submits them
    scenario.complete(instance_id, "Task_purchaser_propose", {}, expect=422)
    data = step(scenario, instance_id, "Task_purchaser_propose", {"terms": PURCHASER_TERMS}, "洽谈中")
    assert data["rounds"] == 1
    step(scenario, instance_id, "Task_supplier_review", {"agree": True}, "一方同意")
    step(scenario, instance_id, "Task_purchaser_review", {"agree": True}, "双方同意")
    assert scenario.open_elements(instance_id) == ["Task_purchaser_sign", "Task_supplier_sign"]
    step(scenario, instance_id, "Task_purchaser_sign", {}, "双方同意")
    step(scenario, instance_id, "Task_supplier_sign", {}, "已签定")
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed"
    assert instance["data"]["status"] == "已签定" and instance["data"]["rounds"] == 1
    assert instance["data"]["terms"] == PURCHASER_TERMS
