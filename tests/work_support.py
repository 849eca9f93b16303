"""Finding work (issue 14 item 6): a small model deployed over the REST API, people with roles, and the
calls the tests of routed tasks, delegation, priority, saved filters and bulk claim share."""
from __future__ import annotations

from typing import Optional

import pytest

WORK_FORM = {"id": "work_form", "title": {"zh": "处理", "en": "Handle"}, "fields": [
    {"name": "note", "type": "str", "label": {"zh": "说明", "en": "Note"}, "required": True, "max_length": 200},
    {"name": "qty", "type": "int", "label": {"zh": "数量", "en": "Quantity"}, "required": True},
]}
EMPTY_FORM = {"id": "empty_form", "title": {"zh": "确认", "en": "Confirm"}, "fields": []}


def model(attributes: str = 'camunda:candidateGroups="warehouse"', form_key: str = "work_form",
          process_id: str = "work") -> str:
    """start → userTask Task_do (``attributes``, form ``form_key``) → end."""
    form = f'camunda:formKey="{form_key}"' if form_key else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://example.com/work">
  <bpmn:process id="{process_id}" name="Work" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_do" name="Do it" {attributes} {form}>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Task_do"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_do" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def people(make_user):
    """wang, li: warehouse; fang: finance; chen: no role; root: admin; zhao: supervisor; audrey: auditor."""
    for name, roles in [("wang", ["warehouse"]), ("li", ["warehouse"]), ("fang", ["finance"]), ("chen", []),
                        ("root", ["admin"]), ("zhao", ["supervisor"]), ("audrey", ["auditor"])]:
        make_user(name, *roles)


@pytest.fixture
def work(api, people, clock):
    """``work(attributes=..., form_key=...)`` deploys the model (as root); ``work.start(data)`` starts an
    instance and returns its open task as JSON."""
    class Work:
        def deploy(self, attributes: str = 'camunda:candidateGroups="warehouse"', form_key: str = "work_form",
                   process_id: str = "work") -> "Work":
            self.process_id = process_id
            body = {"files": {f"{process_id}.bpmn": model(attributes, form_key, process_id)},
                    "forms": {"work_form.json": WORK_FORM, "empty_form.json": EMPTY_FORM}}
            deployed = api("post", "/definitions", "root", json=body)
            assert deployed.status_code == 201, deployed.json
            return self

        def start(self, data: Optional[dict] = None) -> dict:
            body = {"process_id": self.process_id, "data": data or {}}
            started = api("post", "/instances", "root", json=body)
            assert started.status_code == 201, started.json
            (task,) = started.json["open_tasks"]
            return api("get", f"/tasks/{task['id']}", "root").json

    return Work()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [t["id"] for t in response.json]
