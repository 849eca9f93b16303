"""Data shown as people read it (issue 14 item 2): one label per variable per process (the form that owns
it; a deploy note on conflicting labels), choice labels, 是/否, money with its currency, tables with field
labels, local times, gateways by name, never raw JSON; audit exports with labels and a named time zone."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.definitions import get_definition
from engine.models import HumanTask, Instance
from webui import demo as demo_data
from web_support import browser_as, open_task, refund_world, sign_in, text, web  # noqa: F401 (fixtures)

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_dd" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="display_demo" name="显示演示" isExecutable="true">
    <bpmn:laneSet id="LaneSet_dd">
      <bpmn:lane id="Lane_warehouse" name="warehouse">
        <bpmn:flowNodeRef>Start</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_check</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Script_extra</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_supervisor" name="supervisor">
        <bpmn:flowNodeRef>Task_decide</bpmn:flowNodeRef><bpmn:flowNodeRef>Gateway_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_yes</bpmn:flowNodeRef><bpmn:flowNodeRef>End_no</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="Start" name="申请" camunda:formKey="dd_start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_check" name="初审" camunda:formKey="dd_check">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="Script_extra" name="补充数据">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:script>extra_info = {"warehouse": "上海仓", "boxes": 2}
synced_at = "2026-11-02T01:30:00Z"</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="Task_decide" name="终审" camunda:formKey="dd_decide">
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_1"><bpmn:incoming>F4</bpmn:incoming>
      <bpmn:outgoing>F_yes</bpmn:outgoing><bpmn:outgoing>F_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="End_yes" name="已批准"><bpmn:incoming>F_yes</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_no" name="已拒绝"><bpmn:incoming>F_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Task_check"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_check" targetRef="Script_extra"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Script_extra" targetRef="Task_decide"/>
    <bpmn:sequenceFlow id="F4" sourceRef="Task_decide" targetRef="Gateway_1"/>
    <bpmn:sequenceFlow id="F_yes" name="同意" sourceRef="Gateway_1" targetRef="End_yes">
      <bpmn:conditionExpression>approved == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_no" name="不同意" sourceRef="Gateway_1" targetRef="End_no">
      <bpmn:conditionExpression>approved == False</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""


def label(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


FORMS = {
    "dd_start": {"id": "dd_start", "title": label("申请", "Request"), "fields": [
        {"name": "order_no", "type": "str", "label": label("订单号", "Order no."), "required": True},
        {"name": "amount", "type": "decimal", "label": label("金额", "Amount"), "currency": "CNY", "required": True},
        {"name": "price_usd", "type": "decimal", "label": label("美元价", "USD price"), "currency": "USD"},
        {"name": "urgent", "type": "bool", "label": label("是否加急", "Urgent"), "required": True},
        {"name": "colour", "type": "str", "label": label("颜色", "Colour"),
         "choices": [{"value": "purple", "label": label("紫色", "Purple")},
                     {"value": "red", "label": label("红色", "Red")}]},
        {"name": "services", "type": "list", "item_type": "str", "label": label("增值服务", "Services"),
         "choices": [{"value": "gift_wrap", "label": label("礼品包装", "Gift wrap")},
                     {"value": "invoice", "label": label("开发票", "Invoice")}]},
        {"name": "lines", "type": "list", "label": label("明细", "Lines"), "fields": [
            {"name": "sku", "type": "str", "label": label("货号", "SKU"), "required": True},
            {"name": "qty", "type": "int", "label": label("数量", "Quantity"), "required": True},
            {"name": "unit_price", "type": "decimal", "label": label("单价", "Unit price"), "currency": "CNY"}]},
        {"name": "contact", "type": "object", "label": label("联系人", "Contact"), "fields": [
            {"name": "name", "type": "str", "label": label("姓名", "Name")},
            {"name": "phone", "type": "str", "label": label("电话", "Phone")}]},
        {"name": "pickup_at", "type": "datetime", "label": label("取货时间", "Pick-up at")}]},
    "dd_check": {"id": "dd_check", "title": label("初审", "Check"), "fields": [
        {"name": "colour", "type": "str", "label": label("颜色", "Colour"), "readonly": True,
         "choices": [{"value": "purple", "label": label("紫色", "Purple")}]},
        {"name": "approved", "type": "bool", "label": label("初审同意", "First approval"), "required": True},
        {"name": "photo", "type": "file", "label": label("照片", "Photo")}]},
    "dd_decide": {"id": "dd_decide", "title": label("终审", "Decide"), "fields": [
        {"name": "lines", "type": "list", "label": label("明细", "Lines"), "readonly": True, "fields": [
            {"name": "sku", "type": "str", "label": label("货号", "SKU")},
            {"name": "qty", "type": "int", "label": label("数量", "Quantity")}]},
        {"name": "approved", "type": "bool", "label": label("终审同意", "Final approval"), "required": True}]},
}
START = {"order_no": "A-1001", "amount": "1000", "price_usd": "12.5", "urgent": False, "colour": "purple",
         "services": ["gift_wrap", "invoice"],
         "lines": [{"sku": "T-100", "qty": 1000, "unit_price": "2.5"}, {"sku": "T-200", "qty": 20}],
         "contact": {"name": "陈经理", "phone": "13800000000"}, "pickup_at": "2026-11-03T09:30:00"}
RAW_JSON = re.compile(r'\[\{|\{"|&#34;|&quot;\w+&quot;:')


@pytest.fixture
def demo(web, tmp_path, deploy, make_user, api):
    (tmp_path / "display_demo.bpmn").write_text(BPMN, encoding="utf-8")
    for key, form in FORMS.items():
        (tmp_path / f"{key}.json").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    deployed = deploy(tmp_path)
    for name, role in (("cang", "warehouse"), ("zhu", "supervisor"), ("shen", "auditor"), ("guan", "admin")):
        make_user(name, role)
    started = api("post", "/instances", user="cang", json={"process_id": "display_demo", "data": START})
    assert started.status_code == 201, started.get_json()
    return deployed[0], started.get_json()["id"]


def complete(api, instance_id: int, user: str, data: dict) -> None:
    tasks = api("get", f"/tasks?scope=all&instance_id={instance_id}", user="guan").get_json()
    task_id = tasks[0]["id"]
    assert api("post", f"/tasks/{task_id}/claim", user=user).status_code == 200
    response = api("post", f"/tasks/{task_id}/complete", user=user, json={"data": data})
    assert response.status_code == 200, response.get_json()


def page_of(web, user: str, path: str) -> str:
    client = web.test_client()
    assert sign_in(client, user).status_code == 302
    response = client.get(path)
    assert response.status_code == 200, path
    return text(response)


def section(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end, page.index(start))]


# -- one label per variable per process ---------------------------------------------------------------

def test_a_variable_labelled_differently_by_two_forms_gives_a_deploy_note_at_the_second_form(demo):
    deployed, _instance = demo
    notes = [n for n in deployed.notes if "'approved'" in n["message"]]
    assert len(notes) == 1 and notes[0]["element_id"] == "Task_decide"
    assert "dd_check" in notes[0]["message"] and "dd_decide" in notes[0]["message"]
    assert "初审同意" in notes[0]["message"] and "终审同意" in notes[0]["message"]
    assert not [n for n in deployed.notes if "'colour'" in n["message"] or "'lines'" in n["message"]]  # read-only


def test_the_department_processes_deploy_without_label_conflicts(deploy):
    notes = [n for d in deploy() for n in d.notes or [] if n["message"].startswith("Variable '")]
    assert notes == []


def test_pages_show_the_owning_forms_label_and_a_completion_the_labels_its_form_showed(demo, web, api):
    _deployed, instance_id = demo
    complete(api, instance_id, "cang", {"approved": True})
    complete(api, instance_id, "zhu", {"approved": False})
    page = page_of(web, "guan", f"/instances/{instance_id}")
    data = section(page, '<dl class="key-data">', "</dl>")
    assert "初审同意" in data and "终审同意" not in data and "approved" not in data
    history = re.findall(r'<li class="event type-task_completed".*?</li>', page, re.S)
    assert "初审同意" in history[0] and "终审同意" in history[1]


# -- values as people read them ------------------------------------------------------------------------

def test_the_instance_page_shows_labels_yes_no_money_tables_and_local_times(demo, web):
    _deployed, instance_id = demo
    page = page_of(web, "guan", f"/instances/{instance_id}")
    data = section(page, '<dl class="key-data">', "</details>" if "other-data" in page else "</aside>")
    assert "紫色" in data and "purple" not in data
    assert "礼品包装、开发票" in data and "gift_wrap" not in data
    assert "<dd>否</dd>" in data and "false" not in data.lower().replace("aria-", "")
    assert "¥1,000.00" in data and "US$12.50" in data and "¥2.50" in data
    assert re.search(r"<th[^>]*>货号</th>.*<th[^>]*>数量</th>.*<th[^>]*>单价</th>", data, re.S)
    assert "<td>T-100</td><td>1000</td>" in data
    assert re.search(r"<th[^>]*>姓名</th><td>陈经理</td>", data)
    assert "2026-11-03 09:30" in data
    assert not RAW_JSON.search(page)


def test_unknown_variables_are_readable_tables_folded_under_other_data(demo, web, api):
    _deployed, instance_id = demo
    complete(api, instance_id, "cang", {"approved": True})
    page = page_of(web, "guan", f"/instances/{instance_id}")
    other = section(page, '<details class="other-data">', "</details>")
    assert "extra_info" in other and re.search(r"<th[^>]*>warehouse</th><td>上海仓</td>", other)
    assert "<dd>2026-11-02 09:30</dd>" in other  # an ISO time with its offset, in the local zone
    assert not RAW_JSON.search(page)


def test_the_task_page_shows_key_data_and_read_only_fields_as_people_read_them(demo, web, api):
    _deployed, instance_id = demo
    complete(api, instance_id, "cang", {"approved": True})
    tasks = api("get", f"/tasks?scope=all&instance_id={instance_id}", user="guan").get_json()
    page = page_of(web, "zhu", f"/tasks/{tasks[0]['id']}")
    assert re.search(r"<th[^>]*>货号</th>", page) and "<td>T-200</td>" in page  # the read-only table
    assert "¥1,000.00" in page and "紫色" in page and not RAW_JSON.search(page)


def test_a_file_field_shows_the_files_name_as_a_download_link(demo, web, api):
    _deployed, instance_id = demo
    tasks = api("get", f"/tasks?scope=all&instance_id={instance_id}", user="guan").get_json()
    uploaded = api("post", f"/tasks/{tasks[0]['id']}/attachments", user="cang",
                   data={"file": (io.BytesIO(b"%PDF-1.4 test"), "质检报告.pdf")})
    assert uploaded.status_code == 201, uploaded.get_json()
    attachment_id = uploaded.get_json()[0]["id"] if isinstance(uploaded.get_json(), list) else uploaded.get_json()["id"]
    complete(api, instance_id, "cang", {"approved": True, "photo": {"attachment_id": attachment_id}})
    page = page_of(web, "guan", f"/instances/{instance_id}")
    data = section(page, '<dl class="key-data">', "</dl>")
    assert re.search(rf'<a class="file-link" href="/attachments/{attachment_id}"[^>]*>.*质检报告.pdf', data)
    assert "attachment_id" not in page and "sha256" not in data


def test_a_delegates_draft_shows_with_the_tasks_form_labels(demo, web, api, make_user):
    _deployed, instance_id = demo
    make_user("cang2", "warehouse")
    task_id = api("get", f"/tasks?scope=all&instance_id={instance_id}", user="guan").get_json()[0]["id"]
    assert api("post", f"/tasks/{task_id}/claim", user="cang").status_code == 200
    assert api("post", f"/tasks/{task_id}/delegate", user="cang", json={"user": "cang2"}).status_code == 200
    resolved = api("post", f"/tasks/{task_id}/resolve", user="cang2", json={"data": {"approved": False}})
    assert resolved.status_code == 200, resolved.get_json()
    page = page_of(web, "shen", f"/audit/instances/{instance_id}")
    entry = re.findall(r'<li class="event type-task_resolved".*?</li>', page, re.S)[0]
    assert "初审同意" in entry and '<td class="after">否</td>' in entry and "负责人" in entry and "cang" in entry
    assert "approved" not in entry and "draft" not in entry


def test_the_timeline_names_an_unnamed_gateway_by_its_type_and_the_flow_it_took(demo, web, api):
    _deployed, instance_id = demo
    complete(api, instance_id, "cang", {"approved": True})
    complete(api, instance_id, "zhu", {"approved": True})
    page = page_of(web, "shen", f"/audit/instances/{instance_id}")
    gateway = re.findall(r'<li class="event type-gateway_taken".*?</li>', page, re.S)
    assert gateway and "排他网关" in gateway[0] and "同意 → 已批准" in gateway[0] and "Gateway_1" not in gateway[0]
    started = re.findall(r'<li class="event type-instance_started".*?</li>', page, re.S)[0]
    assert "¥1,000.00" in started and "紫色" in started and not RAW_JSON.search(page)


# -- exports --------------------------------------------------------------------------------------------

def test_exports_with_labels_read_as_the_pages_and_without_keep_the_codes(demo, web, api):
    _deployed, instance_id = demo
    complete(api, instance_id, "cang", {"approved": True})
    client = web.test_client()
    sign_in(client, "shen")
    raw = client.get(f"/audit/instances/{instance_id}/history.csv")
    rows = list(csv.reader(io.StringIO(raw.get_data(as_text=True).lstrip("\ufeff"))))
    assert "at (Asia/Shanghai)" in rows[0] and rows[1][rows[0].index("type")] == "instance_started"
    assert rows[1][rows[0].index("at (Asia/Shanghai)")].endswith("+08:00")
    assert '"colour": "purple"' in rows[1][rows[0].index("data")]
    labelled = client.get(f"/audit/instances/{instance_id}/history.csv?labels=1")
    assert "labels" in labelled.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(labelled.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][4] == "时间（Asia/Shanghai）" and rows[1][5] == "流程已发起" and rows[1][6] == "cang"
    assert "颜色：紫色" in rows[1][9] and "是否加急：否" in rows[1][9] and "金额：¥1,000.00" in rows[1][9]
    assert "货号：T-100，数量：1000，单价：¥2.50；货号：T-200，数量：20" in rows[1][9]
    done = next(r for r in rows if r[5] == "任务已完成")
    assert done[7] == "初审" and "初审同意：是" in done[9]
    items = client.get(f"/audit/instances/{instance_id}/history.json?labels=1").get_json()["rows"]
    assert items[0]["event"] == "流程已发起" and items[0]["at"].endswith("+08:00")
    assert {"field": "增值服务", "before": "", "after": "礼品包装、开发票"} in items[0]["changes"]


def test_the_audit_timeline_offers_the_readable_export(demo, web):
    _deployed, instance_id = demo
    page = page_of(web, "shen", f"/audit/instances/{instance_id}")
    link = re.search(r'id="export-labels-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "便于阅读的导出" in page and "labels=1" in link
    client = web.test_client()
    sign_in(client, "shen")
    assert "颜色：紫色" in client.get(link).get_data(as_text=True)


def test_the_audit_search_offers_the_labelled_exports(demo, web):
    page = page_of(web, "shen", "/audit/?type=instance_started")
    link = re.search(r'id="export-search-labels-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    client = web.test_client()
    sign_in(client, "shen")
    body = client.get(link).get_data(as_text=True)
    assert "流程已发起" in body and "订单号：A-1001" in body


# -- the department's processes -------------------------------------------------------------------------

def test_the_refund_supervisors_decision_keeps_its_label_on_later_tasks(refund_world, browser_as, web):
    boss = browser_as("zhuguan")
    boss.post(f"/tasks/{refund_world.task_id}/claim")
    assert boss.post(f"/tasks/{refund_world.task_id}/complete",
                     data={"approved": "true", "approval_comment": "同意"}).status_code == 302
    finance = open_task(web, refund_world.instance_id).id
    page = text(browser_as("caiwu").get(f"/tasks/{finance}"))
    key_data = section(page[page.index("side-card"):], '<dl class="key-data">', "</dl>")
    assert "主管是否同意" in key_data and "是否同意部分退款" not in key_data
    assert not RAW_JSON.search(page) and ">false<" not in page and ">true<" not in page
    assert re.search(r"¥[\d,]+\.\d\d", key_data)  # the department's money fields name their currency (CNY)


def test_contract_negotiation_shows_tiers_as_a_table_and_choices_by_label(scenario_only, web):
    scenario = scenario_only("contract_negotiation")
    started = scenario.start("contract_negotiation", {
        "inquiry_no": "XJ-1", "purchaser": "华联采购", "supplier": "新星服饰",
        "goods": [{"sku": "T-100", "qty": 1000}], "notes": "阶梯价"}, as_role="purchaser")
    instance_id = started["id"]
    scenario.complete(instance_id, "Task_supplier_quote", {
        "quote_tiers": [{"min_qty": 100, "unit_price": "1250.00"}, {"min_qty": 500, "unit_price": "22.50"}],
        "currency": "CNY", "quote_valid_until": "2026-12-01", "sample_offer": "electronic"})
    scenario.user("admin", name="guan")
    for path in (f"/instances/{instance_id}", f"/audit/instances/{instance_id}",
                 f"/tasks/{scenario.task(instance_id, 'Task_purchaser_review_quote')['id']}"):
        page = page_of(web, "guan", path)
        assert not RAW_JSON.search(page), path
        assert "人民币" in page and "电子样本" in page and ">electronic<" not in page and ">CNY<" not in page, path
        assert re.search(r"<th[^>]*>货号</th>", page) and "¥1,250.00" in page, path


def test_pm_onboarding_pages_show_no_raw_json_nor_true_false(scenario_only, web):
    scenario = scenario_only("pm_onboarding")
    scenario.user("pm", name="pm_li", categories="家电")
    started = scenario.start("pm_onboarding", {
        "merchant": "M-1", "company": "美的电器有限公司", "brand": "美的", "category": "家电",
        "contact": "陈经理", "phone": "13800000000", "licence_refs": "营业执照"}, as_role="sp_dispatch")
    instance_id = started["id"]
    scenario.complete(instance_id, "Task_sp_assign_pm", {
        "pm": "pm_li", "qualifications_checked": ["platform_backend", "brand_operations", "category_brands",
                                                  "data_analysis", "communication", "issue_reporting"]})
    scenario.user("admin", name="guan")
    task = scenario.task(instance_id, "Task_pm_coach_backend")
    for path in (f"/instances/{instance_id}", f"/audit/instances/{instance_id}", f"/tasks/{task['id']}"):
        page = page_of(web, "guan", path)
        assert not RAW_JSON.search(page), path
        assert ">true<" not in page and ">false<" not in page and ">True<" not in page, path
        main = section(page, '<dl class="key-data">', "</dl>") if '<dl class="key-data">' in page else ""
        assert "pm_assigned" not in main and "pm_proposed" not in main, path


def test_the_readme_of_forms_documents_the_currency_key():
    readme = (Path(__file__).resolve().parent.parent / "forms" / "README.md").read_text(encoding="utf-8")
    assert "`currency`" in readme and "¥" in readme


def test_the_demo_datas_pages_show_no_json_no_true_false_and_no_choice_codes(web, deploy, make_user):
    deploy()
    with web.extensions["liucheng_db"].session() as session:
        demo_data.create_users(session)
        demo_data.create_sample_instances(session)
        session.commit()
        instances, tasks = list(session.scalars(select(Instance.id))), list(session.scalars(select(HumanTask.id)))
    make_user("guan", "admin", "auditor")
    codes = re.compile(r">(?:true|false|True|False|None|CNY|USD|electronic|purple|seven_day)<")
    paths = [f"/instances/{i}" for i in instances] + [f"/audit/instances/{i}" for i in instances]
    for path in paths + [f"/tasks/{t}" for t in tasks]:
        page = page_of(web, "guan", path)
        assert not RAW_JSON.search(page) and not codes.search(page), path


def test_in_english_the_same_data_reads_yes_no_labels_and_money(demo, web):
    _deployed, instance_id = demo
    client = web.test_client()
    sign_in(client, "guan")
    client.get("/lang/en")
    page = text(client.get(f"/instances/{instance_id}"))
    data = section(page, '<dl class="key-data">', "</dl>")
    assert "<dt>Urgent</dt><dd>No</dd>" in data and "Purple" in data and "Gift wrap, Invoice" in data
    assert "¥1,000.00" in data and re.search(r"<th[^>]*>SKU</th>", data)
    labelled = client.get(f"/audit/instances/{instance_id}/history.csv?labels=1").get_data(as_text=True)
    assert "Time (Asia/Shanghai)" in labelled and "Colour: Purple" in labelled


def test_values_and_keys_are_escaped_in_the_tables(demo, web, api):
    hostile = "<img src=x onerror=alert(1)>"
    started = api("post", "/instances", user="cang", json={"process_id": "display_demo", "data": {
        **START, "order_no": hostile, "lines": [{"sku": hostile, "qty": 1}]}})
    instance_id = started.get_json()["id"]
    complete(api, instance_id, "cang", {"approved": True})
    for path in (f"/instances/{instance_id}", f"/audit/instances/{instance_id}"):
        page = page_of(web, "guan", path)
        assert hostile not in page and "&lt;img src=x onerror=alert(1)&gt;" in page, path


def test_a_shared_choice_labelled_otherwise_is_noted_and_a_new_choice_is_joined(web, tmp_path, deploy):
    (tmp_path / "display_demo.bpmn").write_text(BPMN, encoding="utf-8")
    decide = {**FORMS["dd_decide"], "fields": FORMS["dd_decide"]["fields"] + [
        {"name": "colour", "type": "str", "label": label("颜色", "Colour"),
         "choices": [{"value": "purple", "label": label("紫红", "Magenta")},
                     {"value": "blue", "label": label("蓝色", "Blue")}]}]}
    for key, form in {**FORMS, "dd_decide": decide}.items():
        (tmp_path / f"{key}.json").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    notes = [n for n in deploy(tmp_path)[0].notes if "'colour'" in n["message"]]
    assert len(notes) == 1 and "choice 'purple'" in notes[0]["message"] and notes[0]["element_id"] == "Task_decide"
    with web.extensions["liucheng_db"].session() as session:
        variables = get_definition(session, "display_demo").elements["variables"]
    assert [c["value"] for c in variables["colour"]["choices"]] == ["purple", "red", "blue"]
    assert variables["colour"]["form"] == "dd_start" and variables["approved"]["form"] == "dd_check"
