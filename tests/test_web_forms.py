"""Forms that help, through the pages: multi-choice checkboxes, notes, patterns, tables with add/remove row
(without JavaScript), the generic form of a task without a form, messages in the user's language, and what
was typed kept after an error and after a conflict."""
from __future__ import annotations

import re

from engine import runtime, users
from engine.models import Instance
from web_support import browser_as, open_task, text, web  # noqa: F401 (fixtures)

FORM = {"id": "web_helps", "title": {"zh": "资质与报价", "en": "Qualifications and quote"}, "fields": [
    {"name": "intro", "type": "note", "text": {"zh": "请如实填写。\n<b>不要</b>留空。", "en": "Fill in truly.\nDo not leave blanks."}},
    {"name": "skills", "type": "list", "item_type": "str", "required": True, "label": {"zh": "资质", "en": "Qualifications"},
     "choices": [{"value": "platform_backend", "label": {"zh": "平台后台", "en": "Platform back office"}},
                 {"value": "brand_operations", "label": {"zh": "品牌运营", "en": "Brand operations"}},
                 {"value": "live_streaming", "label": {"zh": "直播", "en": "Live streaming"}}]},
    {"name": "channel", "type": "str", "widget": "radio", "label": {"zh": "渠道", "en": "Channel"},
     "choices": [{"value": "online", "label": {"zh": "线上", "en": "Online"}},
                 {"value": "offline", "label": {"zh": "线下", "en": "Offline"}}]},
    {"name": "phone", "type": "str", "label": {"zh": "手机", "en": "Mobile"}, "pattern": "1[0-9]{10}",
     "pattern_message": {"zh": "请输入 11 位手机号", "en": "Enter an 11-digit mobile number"}},
    {"name": "meet_at", "type": "str", "widget": "time", "label": {"zh": "会面时间", "en": "Meeting time"}},
    {"name": "tiers", "type": "list", "label": {"zh": "阶梯报价", "en": "Price tiers"}, "min_items": 1, "max_items": 3,
     "fields": [{"name": "qty", "type": "int", "label": {"zh": "数量", "en": "Quantity"}, "required": True, "min": 1},
                {"name": "price", "type": "decimal", "label": {"zh": "单价", "en": "Unit price"}, "required": True}]},
    {"name": "fixed", "type": "list", "label": {"zh": "固定两行", "en": "Two fixed rows"}, "add_remove": False,
     "default": [{"k": "a"}, {"k": "b"}], "fields": [{"name": "k", "type": "str", "label": {"zh": "键", "en": "Key"}}]},
]}
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Definitions_helps" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="web_helps" name="表单帮助" isExecutable="true">
    <bpmn:laneSet id="LaneSet_h"><bpmn:lane id="Lane_warehouse" name="warehouse">
      <bpmn:flowNodeRef>Start_h</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_fill</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Task_free</bpmn:flowNodeRef><bpmn:flowNodeRef>End_h</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start_h" name="开始"><bpmn:outgoing>Flow_a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_fill" name="填写资质" camunda:formKey="web_helps"><bpmn:incoming>Flow_a</bpmn:incoming><bpmn:outgoing>Flow_b</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Task_free" name="自由完成"><bpmn:incoming>Flow_b</bpmn:incoming><bpmn:outgoing>Flow_c</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_h" name="结束"><bpmn:incoming>Flow_c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_a" sourceRef="Start_h" targetRef="Task_fill"/>
    <bpmn:sequenceFlow id="Flow_b" sourceRef="Task_fill" targetRef="Task_free"/>
    <bpmn:sequenceFlow id="Flow_c" sourceRef="Task_free" targetRef="End_h"/>
  </bpmn:process>
</bpmn:definitions>"""
GOOD = {"skills": ["platform_backend", "live_streaming"], "channel": "online", "phone": "13800138000",
        "meet_at": "09:30", "tiers-0-qty": "100", "tiers-0-price": "9.50", "fixed-0-k": "a", "fixed-1-k": "b"}


def start(web, make_user) -> tuple[int, int]:
    make_user("cangku", "warehouse")
    with web.extensions["liucheng_db"].session() as session:
        runtime.deploy_definitions(session, {"web_helps.bpmn": BPMN.encode()}, {"web_helps": FORM})
        instance = runtime.start_instance(session, "web_helps", {}, users.get_user(session, "cangku"))
        return instance.id, open_task(web, instance.id).id


def field_html(page: str, name: str) -> str:
    match = re.search(r'<div class="field[^"]*" data-field="%s">(.*?)\n</div>' % re.escape(name), page, re.S)
    assert match, name
    return match.group(1)


def data_of(web, instance_id: int) -> dict:
    with web.extensions["liucheng_db"].session() as session:
        return session.get(Instance, instance_id).data


def test_the_form_draws_checkboxes_radios_notes_patterns_and_tables(web, make_user, browser_as):
    _instance, task = start(web, make_user)
    page = text(browser_as("cangku").get(f"/tasks/{task}"))
    skills = field_html(page, "skills")
    assert skills.count('type="checkbox" name="skills"') == 3 and "<legend" in skills
    assert 'value="platform_backend"> 平台后台' in skills and "品牌运营" in skills and "<textarea" not in skills
    channel = field_html(page, "channel")
    assert channel.count('type="radio" name="channel"') == 2 and "线下" in channel and "<select" not in channel
    note = field_html(page, "intro")
    assert "请如实填写。\n&lt;b&gt;不要&lt;/b&gt;留空。" in note and "<input" not in note  # escaped, lines kept
    phone = field_html(page, "phone")
    assert 'pattern="1[0-9]{10}"' in phone and 'title="请输入 11 位手机号"' in phone
    assert 'type="time"' in field_html(page, "meet_at")
    tiers = field_html(page, "tiers")
    assert 'name="tiers-1-qty"' in tiers and 'name="tiers-2-qty"' not in tiers  # two blank rows to start with
    assert 'value="add:tiers"' in tiers and 'data-max="3"' in tiers and "添加一行" in tiers
    assert 'aria-labelledby="h-tiers-qty r-tiers-0"' in tiers and 'id="h-tiers-qty"' in tiers  # cells are labelled
    assert 'value="remove:tiers-1"' in tiers and "disabled" not in tiers.split('value="remove:tiers-1"')[1][:120]
    assert "<template data-row-template>" in tiers and 'name="tiers-__row__-price"' in tiers
    fixed = field_html(page, "fixed")
    assert 'value="a"' in fixed and 'value="b"' in fixed and "add:fixed" not in fixed and "remove:" not in fixed
    assert 'js/forms.js' in page


def test_checked_codes_are_submitted_and_stored(web, make_user, browser_as):
    instance, task = start(web, make_user)
    response = browser_as("cangku").post(f"/tasks/{task}/complete", data=GOOD)
    assert response.status_code == 302, text(response)[:2000]
    data = data_of(web, instance)
    assert data["skills"] == ["platform_backend", "live_streaming"] and data["channel"] == "online"
    assert data["tiers"] == [{"qty": 100, "price": 9.5}] and data["meet_at"] == "09:30"
    assert "intro" not in data


def test_add_row_without_javascript_redraws_the_form_with_what_was_typed(web, make_user, browser_as):
    instance, task = start(web, make_user)
    client = browser_as("cangku")
    typed = {**GOOD, "_rows": "add:tiers"}
    page = text(client.post(f"/tasks/{task}/complete", data=typed))
    tiers = field_html(page, "tiers")
    assert 'name="tiers-0-qty" type="number" value="100"' in tiers and 'name="tiers-1-qty"' in tiers
    assert 'value="platform_backend" checked' in field_html(page, "skills")
    assert 'value="13800138000"' in page and data_of(web, instance) == {}  # nothing completed
    assert open_task(web, instance).id == task
    # two more: the third row is the last (max_items 3), the add button is disabled
    page = text(client.post(f"/tasks/{task}/complete", data={**typed, "tiers-1-qty": "", "tiers-1-price": ""}))
    page = text(client.post(f"/tasks/{task}/complete", data={
        **typed, "tiers-1-qty": "200", "tiers-1-price": "9", "tiers-2-qty": "300", "tiers-2-price": "8"}))
    tiers = field_html(page, "tiers")
    assert 'name="tiers-2-qty"' in tiers and 'name="tiers-3-qty"' not in tiers
    assert re.search(r'value="add:tiers"[^>]*disabled', tiers)
    # remove the middle row: the others keep their values, renumbered
    page = text(client.post(f"/tasks/{task}/complete", data={
        **GOOD, "tiers-1-qty": "200", "tiers-1-price": "9", "tiers-2-qty": "300", "tiers-2-price": "8",
        "_rows": "remove:tiers-1"}))
    tiers = field_html(page, "tiers")
    assert 'name="tiers-1-qty" type="number" value="300"' in tiers and 'value="200"' not in tiers


def test_errors_are_in_the_users_language_per_field_and_rows_line_up(web, make_user, browser_as):
    instance, task = start(web, make_user)
    client = browser_as("cangku")
    bad = {**GOOD, "skills": [], "phone": "12345", "meet_at": "25:00", "tiers-0-qty": "", "tiers-0-price": "",
           "tiers-1-qty": "0", "tiers-1-price": "8"}
    response = client.post(f"/tasks/{task}/complete", data=bad)
    assert response.status_code == 422
    page = text(response)
    assert "此项为必填项" in field_html(page, "skills")
    assert "请输入 11 位手机号" in field_html(page, "phone") and 'value="12345"' in page
    assert "请输入时间" in field_html(page, "meet_at")
    tiers = field_html(page, "tiers")  # the blank first row is dropped: the error stands on the row sent
    assert 'id="err-tiers-0-qty"' in tiers and 'name="tiers-0-price" type="number" value="8"' in tiers
    client.get("/lang/en")
    page = text(client.post(f"/tasks/{task}/complete", data={**GOOD, "skills": ["nonsense"], "phone": "1"}))
    assert "Enter an 11-digit mobile number" in field_html(page, "phone")
    assert "Choose only from the listed values." in field_html(page, "skills")
    assert data_of(web, instance) == {}


def test_a_conflict_keeps_what_was_typed(web, make_user, browser_as):
    instance, task = start(web, make_user)
    first, second = browser_as("cangku"), browser_as("cangku")
    assert first.post(f"/tasks/{task}/complete", data=GOOD).status_code == 302
    response = second.post(f"/tasks/{task}/complete", data={**GOOD, "phone": "13900000000"})
    assert response.status_code == 409
    page = text(response)
    assert "任务未能完成" in page and "您填写的内容保留在下方" in page
    assert "13900000000" in page and "平台后台、直播" in page  # shown as typed, choices by their labels


def test_the_generic_form_completes_with_typed_variables(web, make_user, browser_as):
    instance, task = start(web, make_user)
    client = browser_as("cangku")
    assert client.post(f"/tasks/{task}/complete", data=GOOD).status_code == 302
    free = open_task(web, instance).id
    page = text(client.get(f"/tasks/{free}"))
    assert 'name="var-0-name"' in page and 'name="var-0-type"' in page and "添加一行" in page
    assert "此步骤没有表单" in page
    bad = {"var-0-name": "1x", "var-0-type": "number", "var-0-value": "3",
           "var-1-name": "amount", "var-1-type": "number", "var-1-value": "abc",
           "var-2-name": "", "var-2-type": "text", "var-2-value": ""}
    response = client.post(f"/tasks/{free}/complete", data=bad)
    assert response.status_code == 422
    page = text(response)
    assert "名称只能由字母" in page and 'id="err-var-0-name"' in page and 'id="err-var-1-value"' in page
    assert 'value="abc"' in page and open_task(web, instance).id == free
    good = {"var-0-name": "qty", "var-0-type": "number", "var-0-value": "3",
            "var-1-name": "amount", "var-1-type": "number", "var-1-value": "12.50",
            "var-2-name": "ok", "var-2-type": "bool", "var-2-value": "是",
            "var-3-name": "day", "var-3-type": "date", "var-3-value": "2026-12-06",
            "var-4-name": "lines", "var-4-type": "json", "var-4-value": '[{"sku": "A", "n": 2}]',
            "var-5-name": "remark", "var-5-type": "text", "var-5-value": " 原样 ",
            "var-6-name": "", "var-6-type": "text", "var-6-value": ""}
    response = client.post(f"/tasks/{free}/complete", data=good)
    assert response.status_code == 302, text(response)[:3000]
    data = data_of(web, instance)
    assert data["qty"] == 3 and data["amount"] == 12.5 and data["ok"] is True and data["day"] == "2026-12-06"
    assert data["lines"] == [{"sku": "A", "n": 2}] and data["remark"] == " 原样 "
    with web.extensions["liucheng_db"].session() as session:
        assert session.get(Instance, instance).status == "completed"


def test_the_generic_form_completes_without_variables_and_refuses_bad_json(web, make_user, browser_as):
    instance, task = start(web, make_user)
    client = browser_as("cangku")
    client.post(f"/tasks/{task}/complete", data=GOOD)
    free = open_task(web, instance).id
    page = text(client.post(f"/tasks/{free}/complete", data={"var-0-name": "x", "var-0-type": "json",
                                                              "var-0-value": "{oops"}))
    assert "请输入有效的 JSON" in page and "{oops" in page
    page = text(client.post(f"/tasks/{free}/complete", data={"var-0-name": "x", "var-0-value": "1",
                                                              "var-1-name": "x", "var-1-value": "2"}))
    assert "这个名称重复了" in page
    assert client.post(f"/tasks/{free}/complete", data={"var-0-type": "text"}).status_code == 302
    with web.extensions["liucheng_db"].session() as session:
        assert session.get(Instance, instance).status == "completed"
