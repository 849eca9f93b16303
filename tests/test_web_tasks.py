"""The task page: the form drawn from its definition, errors next to fields, typed values kept, completing."""
from __future__ import annotations

import re

from engine import runtime, users
from engine.models import Instance
from web_support import browser_as, open_task, refund_world, text, web  # noqa: F401 (fixtures)

FORM = {"id": "web_everything", "title": {"zh": "全部字段", "en": "Every field"}, "fields": [
    {"name": "order_no", "type": "str", "label": {"zh": "订单号", "en": "Order no."}, "readonly": True},
    {"name": "note", "type": "str", "label": {"zh": "备注", "en": "Note"}, "required": True, "max_length": 10,
     "help": {"zh": "简短说明", "en": "A short note"}},
    {"name": "story", "type": "text", "label": {"zh": "经过", "en": "Story"}},
    {"name": "qty", "type": "int", "label": {"zh": "数量", "en": "Quantity"}, "required": True, "min": 1, "max": 99},
    {"name": "price", "type": "decimal", "label": {"zh": "单价", "en": "Price"}, "min": 0, "max": 1000},
    {"name": "ok", "type": "bool", "label": {"zh": "合格", "en": "Passed"}, "required": True},
    {"name": "day", "type": "date", "label": {"zh": "日期", "en": "Day"}},
    {"name": "at", "type": "datetime", "label": {"zh": "时间", "en": "Time"}},
    {"name": "colour", "type": "str", "label": {"zh": "颜色", "en": "Colour"}, "required": True, "default": "red",
     "choices": [{"value": "red", "label": {"zh": "红", "en": "Red"}}, {"value": "blue", "label": {"zh": "蓝", "en": "Blue"}}]},
    {"name": "tags", "type": "list", "item_type": "str", "label": {"zh": "标签", "en": "Tags"}},
    {"name": "lines", "type": "list", "label": {"zh": "明细", "en": "Lines"}, "min_items": 1,
     "fields": [{"name": "sku", "type": "str", "label": {"zh": "货号", "en": "SKU"}, "required": True},
                {"name": "n", "type": "int", "label": {"zh": "件数", "en": "Pieces"}, "required": True, "min": 1}]},
    {"name": "address", "type": "object", "label": {"zh": "地址", "en": "Address"},
     "fields": [{"name": "city", "type": "str", "label": {"zh": "城市", "en": "City"}, "required": True}]},
]}
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_web" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="web_form" name="表单测试" isExecutable="true">
    <bpmn:laneSet id="LaneSet_web"><bpmn:lane id="Lane_warehouse" name="warehouse">
      <bpmn:flowNodeRef>Start_web</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_fill</bpmn:flowNodeRef><bpmn:flowNodeRef>End_web</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start_web" name="开始"><bpmn:outgoing>Flow_a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_fill" name="填写全部字段" camunda:formKey="web_everything"><bpmn:incoming>Flow_a</bpmn:incoming><bpmn:outgoing>Flow_b</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_web" name="结束"><bpmn:incoming>Flow_b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_a" sourceRef="Start_web" targetRef="Task_fill"/>
    <bpmn:sequenceFlow id="Flow_b" sourceRef="Task_fill" targetRef="End_web"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_web"><bpmndi:BPMNPlane id="Plane_web" bpmnElement="web_form">
    <bpmndi:BPMNShape id="Lane_di" bpmnElement="Lane_warehouse" isHorizontal="true"><dc:Bounds x="100" y="50" width="500" height="150"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Start_di" bpmnElement="Start_web"><dc:Bounds x="160" y="107" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Task_di" bpmnElement="Task_fill"><dc:Bounds x="260" y="85" width="120" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="End_di" bpmnElement="End_web"><dc:Bounds x="460" y="107" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="Flow_a_di" bpmnElement="Flow_a"><di:waypoint x="196" y="125"/><di:waypoint x="260" y="125"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="Flow_b_di" bpmnElement="Flow_b"><di:waypoint x="380" y="125"/><di:waypoint x="460" y="125"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""
GOOD = {"note": "好的", "story": "一路顺利\n第二行", "qty": "3", "price": "12.50", "ok": "true", "day": "2026-11-03",
        "at": "2026-11-03T10:30", "colour": "blue", "tags": "甲\n乙\n", "lines-0-sku": "T-1", "lines-0-n": "2",
        "lines-1-sku": "", "lines-1-n": "", "address.city": "杭州"}


def start_form_task(web, deploy_user="cangku") -> tuple[int, int]:
    database = web.extensions["liucheng_db"]
    with database.session() as session:
        runtime.deploy_definitions(session, {"web_form.bpmn": BPMN.encode()}, {"web_everything": FORM})
        instance = runtime.start_instance(session, "web_form", {"order_no": "F-9"}, users.get_user(session, deploy_user))
        return instance.id, open_task(web, instance.id).id


def field_html(page: str, name: str) -> str:
    match = re.search(r'<div class="field[^"]*" data-field="%s">(.*?)\n</div>' % re.escape(name), page, re.S)
    assert match, name
    return match.group(1)


def test_the_form_is_drawn_from_its_definition(web, make_user, browser_as):
    make_user("cangku", "warehouse")
    _instance, task = start_form_task(web)
    page = text(browser_as("cangku").get(f"/tasks/{task}"))
    assert "填写全部字段" in page and "全部字段" in page
    assert "F-9" in field_html(page, "order_no") and "<input" not in field_html(page, "order_no")  # read-only
    note = field_html(page, "note")
    assert "备注" in note and 'class="req"' in note and 'maxlength="10"' in note and "简短说明" in note
    assert "最多 10 个字符" in note
    qty = field_html(page, "qty")
    assert 'type="number"' in qty and 'min="1"' in qty and 'max="99"' in qty and 'step="1"' in qty
    assert "范围 1 至 99" in qty
    price = field_html(page, "price")
    assert 'step="0.01"' in price and 'inputmode="decimal"' in price and 'class="req"' not in price
    ok = field_html(page, "ok")
    assert ok.count('type="radio"') == 2 and "是" in ok and "否" in ok
    assert 'type="date"' in field_html(page, "day") and 'type="datetime-local"' in field_html(page, "at")
    colour = field_html(page, "colour")
    assert "<select" in colour and '<option value="red" selected>红</option>' in colour  # the default first
    assert "<textarea" in field_html(page, "story") and "每行一个值" in field_html(page, "tags")
    assert 'name="lines-0-sku"' in page and 'name="lines-1-n"' in page and 'name="address.city"' in page
    assert page.count('class="req"') >= 6
    assert 'novalidate' in page and 'name="csrf_token"' in page


def test_labels_follow_the_language(web, make_user, browser_as):
    make_user("cangku", "warehouse")
    _instance, task = start_form_task(web)
    client = browser_as("cangku")
    client.get("/lang/en")
    page = text(client.get(f"/tasks/{task}"))
    assert "Quantity" in page and "Every field" in page and "<option value=\"blue\">Blue</option>" in page
    assert "数量" not in page and "from 1 to 99" in page


def test_errors_stand_next_to_their_fields_and_typed_values_stay(web, make_user, browser_as):
    make_user("cangku", "warehouse")
    instance, task = start_form_task(web)
    client = browser_as("cangku")
    bad = {**GOOD, "note": "这句话写得实在是太长太长了", "qty": "0", "price": "abc", "ok": "", "lines-0-n": "0",
           "address.city": ""}
    response = client.post(f"/tasks/{task}/complete", data=bad, headers={"Referer": f"http://localhost/tasks/{task}"})
    assert response.status_code == 422
    page = text(response)
    assert "请更正标出的字段后重新提交" in page
    assert "请输入 1 至 10 个字符" in field_html(page, "note")
    assert "不能小于 1" in field_html(page, "qty") or "必须在 1 至 99 之间" in field_html(page, "qty")
    assert "请输入数字" in field_html(page, "price")
    assert "此项为必填项" in field_html(page, "ok")
    assert 'id="err-lines-0-n"' in page
    assert 'value="这句话写得实在是太长太长了"' in page and 'value="abc"' in page and 'value="T-1"' in page
    assert '<option value="blue" selected>' in page and "一路顺利\n第二行</textarea>" in page
    assert 'aria-invalid="true"' in page
    assert f'href="/lang/en?next=/tasks/{task}"' in page  # the language switch leads back to the task, not the post
    with web.extensions["liucheng_db"].session() as session:
        assert session.get(Instance, instance).status == "running"  # nothing was saved


def test_completing_saves_typed_data_and_returns_to_the_worklist(web, make_user, browser_as):
    make_user("cangku", "warehouse")
    instance, task = start_form_task(web)
    client = browser_as("cangku")
    response = client.post(f"/tasks/{task}/complete", data={**GOOD, "next": "/worklist"})
    assert response.status_code == 302 and response.headers["Location"] == "/worklist"
    assert "任务“填写全部字段”已完成" in text(client.get("/worklist"))
    with web.extensions["liucheng_db"].session() as session:
        row = session.get(Instance, instance)
        assert row.status == "completed"
        assert row.data["qty"] == 3 and row.data["price"] == 12.5 and row.data["ok"] is True
        assert row.data["tags"] == ["甲", "乙"] and row.data["lines"] == [{"sku": "T-1", "n": 2}]
        assert row.data["address"] == {"city": "杭州"} and row.data["day"] == "2026-11-03"
        assert row.data["story"] == "一路顺利\n第二行" and row.data["at"].startswith("2026-11-03T10:30")
    done = text(client.get(f"/tasks/{task}"))
    assert "此任务已完成" in done and f'action="/tasks/{task}/complete"' not in done
    again = client.post(f"/tasks/{task}/complete", data=GOOD)  # a second time: refused, told why, input kept
    assert again.status_code == 409 and "此任务已完成" in text(again)


def test_the_task_page_shows_key_data_history_and_diagram(refund_world, browser_as):
    page = text(browser_as("zhuguan").get(f"/tasks/{refund_world.task_id}"))
    assert "W-1001" in page and "小王" in page and "88.00" in page
    assert "关键数据" in page and "此前经过" in page and "流程已发起" in page
    assert '<svg' in page and 'data-element-id="Task_supervisor_approve_refund_only"' in page
    assert re.search(r'data-element-id="Task_supervisor_approve_refund_only" class="el userTask active"', page)
    assert 'id="claim"' in page


def test_auditors_read_tasks_but_cannot_work_on_them(refund_world, browser_as):
    client = browser_as("shenji")
    page = text(client.get(f"/tasks/{refund_world.task_id}"))
    assert "您可以查看此任务，但不能处理" in page and 'id="complete"' not in page and 'id="claim"' not in page
    assert client.post(f"/tasks/{refund_world.task_id}/complete", data={"approved": "true"}).status_code == 403


def test_a_task_claimed_by_another_is_read_only_for_me(refund_world, browser_as):
    browser_as("zhuguan").post(f"/tasks/{refund_world.task_id}/claim")
    make_other = browser_as("guanli")  # admin: reads it, may unclaim it, cannot complete it
    page = text(make_other.get(f"/tasks/{refund_world.task_id}"))
    assert '此任务由 <span class="person" title="zhuguan">zhuguan</span> 处理' in page and 'id="unclaim"' in page
    response = make_other.post(f"/tasks/{refund_world.task_id}/complete", data={"approved": "true"},
                               follow_redirects=True)
    assert response.status_code == 409 and "已被 zhuguan" in text(response)  # the refusal in Chinese (issue 14)
