"""A process's data dictionary (issue 14 item 2): the variables scripts and workers set, which no form shows,
get labels and choice labels from ``forms/<process id>_variables.json``; every department process has one, so
no page of a department instance shows a variable's name or a choice's code (the department scenarios' end
states are walked); the PM qualification checklist is a checkbox group read back by labels."""
from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import DefinitionError
from engine.models import Definition, HumanTask, Instance
from web_support import sign_in, text

ROOT = Path(__file__).resolve().parent.parent
RAW_TIME = re.compile(r">[^<>]*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[^<>]*<")  # an ISO time shown as stored

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_dict" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="dict_demo" name="字典演示" isExecutable="true">
    <bpmn:startEvent id="Start" camunda:formKey="dict_start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Script_outcome" name="记录结果">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:script>outcome = 'refunded'
stock_booking = {"booked": 2, "balances": {"T-1": 5}}
checked = True</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="Task_look" name="查看" camunda:candidateGroups="admin">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Script_outcome"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Script_outcome" targetRef="Task_look"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Task_look" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>
"""
START_FORM = {"id": "dict_start", "fields": [
    {"name": "order_no", "type": "str", "label": {"zh": "订单号", "en": "Order no."}, "required": True}]}


def label(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


DICTIONARY = {"process_id": "dict_demo", "variables": [
    {"name": "outcome", "type": "str", "label": label("结果", "Outcome"),
     "choices": [{"value": "refunded", "label": label("已退款", "Refunded")},
                 {"value": "rejected", "label": label("已拒绝", "Rejected")}]},
    {"name": "stock_booking", "type": "object", "label": label("入库记账", "Stock booked in"),
     "fields": [{"name": "booked", "type": "int", "label": label("记账行数", "Lines booked")},
                {"name": "balances", "type": "object", "label": label("结存数量", "Balances"), "fields": []}]},
    {"name": "checked", "type": "bool", "label": label("已核对", "Checked")},
    {"name": "order_no", "type": "str", "label": label("单号", "Order")}]}


def files(tmp_path: Path, dictionary: dict | None = DICTIONARY) -> Path:
    (tmp_path / "dict_demo.bpmn").write_text(BPMN, encoding="utf-8")
    (tmp_path / "dict_start.json").write_text(json.dumps(START_FORM), encoding="utf-8")
    if dictionary is not None:
        (tmp_path / "dict_demo_variables.json").write_text(json.dumps(dictionary, ensure_ascii=False), encoding="utf-8")
    return tmp_path


@pytest.fixture
def web(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def page_of(web, user: str, path: str) -> str:
    client = web.test_client()
    assert sign_in(client, user).status_code == 302
    response = client.get(path)
    assert response.status_code == 200, path
    return text(response)


# -- the declaration -------------------------------------------------------------------------------------------

def test_a_data_dictionary_labels_what_scripts_set_and_a_form_keeps_its_own_label(web, tmp_path, deploy, make_user,
                                                                                   api):
    deployed = deploy(files(tmp_path))
    notes = [n["message"] for n in deployed[0].notes]
    assert any("'order_no'" in n and "订单号" in n and "单号" in n for n in notes), notes  # the form owns it
    make_user("guan", "admin")
    started = api("post", "/instances", "guan", json={"process_id": "dict_demo", "data": {"order_no": "A-1"}})
    instance_id = started.get_json()["id"]
    page = page_of(web, "guan", f"/instances/{instance_id}")
    assert 'class="other-data"' not in page
    for shown in ("结果", "已退款", "入库记账", "记账行数", "结存数量", "T-1", "已核对", "是", "订单号"):
        assert shown in page, shown
    assert ">refunded<" not in page and ">stock_booking<" not in page and "<dt>单号</dt>" not in page


def test_a_new_dictionary_is_a_new_version_and_the_same_one_is_not(tmp_path, deploy):
    first = deploy(files(tmp_path, None))[0]
    second = deploy(files(tmp_path))[0]
    again = deploy(files(tmp_path))[0]
    assert (first.version, second.version, again.version) == (1, 2, 2) and not again.created


def test_a_bad_dictionary_is_refused_at_deploy_naming_the_file_and_the_field(tmp_path, deploy):
    bad_field = {"process_id": "dict_demo", "variables": [{"name": "outcome", "type": "code", "label": label("结果", "Outcome")}]}
    with pytest.raises(DefinitionError) as refused:
        deploy(files(tmp_path, bad_field))
    problems = refused.value.details["problems"]
    assert any(p["file"].endswith("dict_demo_variables.json") and p["element_id"] == "outcome"
               and "Unknown type 'code'" in p["message"] for p in problems), problems
    (tmp_path / "dict_demo_variables.json").write_text(json.dumps({"process_id": "", "variables": {}}), encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        deploy(tmp_path)
    assert any(p["file"].endswith("dict_demo_variables.json") and "'process_id'" in p["message"]
               for p in refused.value.details["problems"])


def test_the_api_takes_a_dictionary_with_the_forms(api, make_user):
    make_user("root", "admin")
    response = api("post", "/definitions", "root", json={
        "files": {"dict_demo.bpmn": BPMN},
        "forms": {"dict_start.json": START_FORM, "dict_demo_variables.json": DICTIONARY}})
    assert response.status_code == 201, response.get_json()
    started = api("post", "/instances", "root", json={"process_id": "dict_demo", "data": {"order_no": "A-2"}})
    assert started.status_code == 201


def test_every_department_process_has_a_dictionary_and_the_readmes_say_how():
    processes = {m for path in (ROOT / "processes").glob("*.bpmn")
                 for m in re.findall(r'<bpmn:process id="(\w+)"[^>]*isExecutable="true"', path.read_text("utf-8"))}
    dictionaries = {json.loads(p.read_text("utf-8"))["process_id"] for p in (ROOT / "forms").glob("*_variables.json")}
    assert processes <= dictionaries, processes - dictionaries
    assert "_variables.json" in (ROOT / "forms" / "README.md").read_text("utf-8")
    assert "_variables.json" in (ROOT / "README.md").read_text("utf-8")


# -- the department processes' end states ---------------------------------------------------------------------

SCENARIOS = [
    ("compensation_fund", "test_fund_used_until_exhausted_then_audited_and_advanced_again", {}),
    ("compensation_fund", "test_audit_rejected_manager_closes_the_fund", {}),
    ("contract_negotiation", "test_one_round_purchaser_proposes_and_signs_first", {}),
    ("contract_negotiation", "test_quote_rejected", {}),
    ("contract_negotiation", "test_counter_proposals_reset_agreement", {}),
    ("distributor_reconciliation", "test_difference_settled_by_the_manager_and_paid_in_two_parts", {}),
    ("distributor_reconciliation", "test_nothing_due_ends_at_once", {}),
    ("distributor_reconciliation", "test_payment_not_passed_to_finance_within_24_hours_is_escalated", {}),
    ("distributor_reconciliation", "test_no_payment_for_seven_days_is_followed_up", {}),
    ("exchange", "test_size_exchange_within_seven_days", {}),
    ("exchange", "test_cheaper_replacement_difference_paid_back_by_finance", {}),
    ("exchange", "test_over_seven_days_refused", {}),
    ("exchange", "test_buyer_gives_up_after_reminder", {}),
    ("exchange", "test_damaged_return_supervisor_exchanges_anyway", {}),
    ("goods_receiving", "test_all_match_received_booked_and_settled", {}),
    ("goods_receiving", "test_damage_reported_purchasing_accepts_the_rest", {}),
    ("goods_receiving", "test_purchasing_returns_the_delivery_to_the_supplier", {}),
    ("inquiry_followup", "test_buyer_replies_and_orders", {}),
    ("inquiry_followup", "test_buyer_replies_and_declines", {}),
    ("inquiry_followup", "test_reply_overdue_after_12_hours_escalates_to_supervisor", {}),
    ("inquiry_followup", "test_half_monthly_follow_ups_until_no_reply", {}),
    ("order_dispatch", "test_paid_order_waits_for_the_14_00_batch_and_is_delivered_after_the_call", {}),
    ("order_dispatch", "test_cancel_while_waiting_for_the_batch_is_made_in_place", {}),
    ("order_dispatch", "test_cancel_after_printing_retrieves_the_documents_and_voids_them", {}),
    ("order_dispatch", "test_change_after_shipping_is_handed_to_aftersales", {}),
    ("order_dispatch", "test_contract_only_order_with_no_stock_on_the_books_still_ships", {}),
    ("pm_onboarding", "test_operations_reject_then_approve", {}),
    ("pm_onboarding", "test_invalid_assignment_goes_back_to_sp_dispatch", {}),
    ("pm_onboarding", "test_merchant_issue_at_two_stages_creates_tasks_for_the_pm", {}),
    ("refund", "test_not_received_approved_refunded", {}),
    ("refund", "test_not_received_rejected_buyer_accepts_withdrawn", {}),
    ("refund", "test_exchange_instead_exchanged", {}),
    ("refund", "test_quality_issue_full_refund_and_return_shipping_reimbursed", {}),
    ("refund", "test_over_seven_days_refused_rejected", {}),
    ("report", "test_daily_report_sent_back_for_correction", {}),
    ("report", "test_weekly_reports_on_time_reviewed", {}),
    ("report", "test_weekly_domestic_report_late_on_friday_is_escalated", {}),
    ("review_followup", "test_buyer_agrees_to_revise_the_review", {}),
    ("review_followup", "test_buyer_not_reached", {}),
    ("review_followup", "test_no_call_within_48_hours_escalates_to_supervisor", {}),
    ("stocktake", "test_small_differences_are_adjusted_without_the_supervisor", {"process": "stocktake"}),
    ("stocktake", "test_counts_agree_with_the_books_no_differences", {"process": "stocktake_monthly"}),
    ("stocktake", "test_large_difference_approved_by_the_supervisor", {"process": "stocktake_monthly"}),
]


@pytest.mark.parametrize("module_name, test_name, arguments", SCENARIOS,
                         ids=[f"{m}-{t.removeprefix('test_')}" for m, t, _a in SCENARIOS])
def test_no_department_page_shows_a_variable_name_or_a_choice_code(module_name, test_name, arguments, scenario_only,
                                                                   web, make_user):
    module = importlib.import_module(f"test_{module_name}_scenarios")
    processes = () if not hasattr(module, "scenario") else \
        getattr(module, "PROCESSES", None) or (module.PROCESS,)  # the module's own deployment, else all
    scenario = scenario_only(*processes)
    getattr(module, test_name)(scenario, **arguments)
    make_user("data_reader", "admin", "auditor")
    with web.extensions["liucheng_db"].session() as session:
        instances = list(session.scalars(select(Instance)))
        assert instances
        for instance in instances:
            catalogue = session.get(Definition, instance.definition_id).elements["variables"]
            for name, value in instance.data.items():
                assert name in catalogue, f"{instance.process_id}: '{name}' has no label ({value!r})"
                assert not unlabelled(value, catalogue[name]), \
                    f"{instance.process_id}: '{name}' = {value!r}: {unlabelled(value, catalogue[name])}"
        pages = [f"/instances/{i.id}" for i in instances] + [f"/audit/instances/{i.id}" for i in instances]
        pages += [f"/tasks/{t}" for t in session.scalars(select(HumanTask.id))]  # open and completed: the side panel
    for path in pages:
        page = page_of(web, "data_reader", path)
        assert 'class="other-data"' not in page, path
        assert not RAW_TIME.search(page), (path, RAW_TIME.search(page).group(0))


def unlabelled(value, spec: dict) -> list[str]:
    """What of ``value`` its spec shows by code or key: a choice it does not list, an object's key no field names."""
    choices = {str(c["value"]) for c in spec.get("choices") or [] if isinstance(c, dict)}
    if choices and not isinstance(value, (dict, list)) and value not in (None, "") and str(value) not in choices:
        return [f"choice {value!r}"]
    if isinstance(value, list):
        item = {"choices": spec.get("choices")} if not spec.get("fields") else {"fields": spec["fields"]}
        return [problem for element in value for problem in unlabelled(element, item)]
    if isinstance(value, dict) and spec.get("fields"):
        fields = {f["name"]: f for f in spec["fields"]}
        return [f"key {key!r}" for key in value if key not in fields] + \
            [problem for key, sub in value.items() if key in fields for problem in unlabelled(sub, fields[key])]
    return []
