"""SECURITY.md's access matrix, performed cell by cell.

The tables under "Access matrix" are parsed from SECURITY.md: one row per API
endpoint (method and path as in the OpenAPI document) or page, one column per
role. For every role the test prepares the database the document describes
(refund deployed; a refund started by the after-sales user, waiting for the
supervisor; an open incident on it), performs every row as that role's user and
compares what happened with the cell. A change is made on a fresh instance, task
or incident each time, and its effect is checked: done for ``✓``, not done for a
refusal. Another test fails when an endpoint of the OpenAPI document has no row
(or a row names an endpoint that does not exist).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

import pytest
from sqlalchemy import func, select, update

from conftest import DATA, ROOT, basic_auth
from engine import incidents, runtime, saved_filters, users
from engine.database import command
from engine.models import (Attachment, ApiToken, Comment, Definition, ExternalTask, HumanTask, Incident, Instance,
                           Message, SavedFilter)
from engine.runtime import collaboration
from web_support import FORMS, REFUND, START_DATA, browser_as, web  # noqa: F401 (fixtures)

SECURITY = ROOT / "SECURITY.md"
TABLES = ("API endpoint", "Page")
USERS = {"anonymous": None, "admin": "root", "auditor": "audrey", "supervisor": "zhao", "designer": "dora",
         "integrator": "ivan", "aftersales_cs": "kefu", "warehouse": "cangku", "purchasing": "caigou"}
OTHER_SUPERVISOR = "zhou"
ROW = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/\S*)`")


# -- the document ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    table: str
    method: str
    path: str
    cells: dict

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def matrix() -> list[Row]:
    """The rows of SECURITY.md's tables whose first header cell is one of ``TABLES``."""
    rows, header = [], None
    for line in SECURITY.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] in TABLES:
            header = cells
        elif header is not None and not set("".join(cells)) <= set("-: "):
            match = ROW.fullmatch(cells[0])
            assert match, f"SECURITY.md: a matrix row must start with `METHOD /path`, not {cells[0]!r}"
            assert len(cells) == len(header), f"SECURITY.md: row {cells[0]} has {len(cells)} cells"
            rows.append(Row(header[0], match[1], match[2], dict(zip(header[1:], cells[1:]))))
    return rows


def headers() -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in SECURITY.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and line.strip("| ").split("|")[0].strip() in TABLES]


# -- the prepared database ------------------------------------------------------------------------------

@dataclass
class World:
    app: Any
    instance_id: int
    task_id: int
    incident_id: int

    @property
    def database(self):
        return self.app.extensions["liucheng_db"]

    def user(self, name: str):
        with self.database.session() as session:
            return users.get_user(session, name)

    def start_refund(self, username: str = "kefu") -> int:
        with self.database.session() as session:
            return runtime.start_instance(session, "refund", dict(START_DATA),
                                          users.get_user(session, username)).id

    def open_task(self, instance_id: int) -> int:
        with self.database.session() as session:
            return session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                              HumanTask.status == "open")).one()

    def open_incident(self, instance_id: int) -> int:
        """An incident as the runtime opens one: a step failing ``MAX_ATTEMPTS`` times."""
        with self.database.session() as session:
            with command(session):
                for _attempt in range(incidents.MAX_ATTEMPTS):
                    incidents.record_failure(session, instance_id, "refund", "Script_seven_day_refund", None,
                                             "退款系统不可用 (matrix)")
            return session.scalars(select(Incident.id).where(Incident.instance_id == instance_id)).one()

    def fresh_incident(self) -> int:
        return self.open_incident(self.start_refund())

    def fresh_task(self) -> int:
        return self.open_task(self.start_refund())

    def read(self, statement):
        with self.database.session() as session:
            return session.scalar(statement)


@pytest.fixture
def world(web, deploy, make_user, clock) -> World:
    deploy(REFUND, FORMS)
    for role, name in USERS.items():
        if name:
            make_user(name, role)
    make_user(OTHER_SUPERVISOR, "supervisor")
    prepared = World(web, 0, 0, 0)
    prepared.instance_id = prepared.start_refund()
    prepared.task_id = prepared.open_task(prepared.instance_id)
    prepared.incident_id = prepared.open_incident(prepared.instance_id)
    return prepared


# -- what each row sends ---------------------------------------------------------------------------------

@dataclass
class Call:
    """One request: path values, body, and how to read its effect."""
    values: dict = field(default_factory=dict)
    json: Any = None
    form: Optional[dict] = None
    body: Optional[bytes] = None
    content_type: Optional[str] = None
    query: Optional[dict] = None
    listed: Optional[Callable[[Any], bool]] = None  # list rows: is the prepared item in the answer?
    done: Optional[Callable[[], bool]] = None  # change rows: did the change happen?


def ids_of(response) -> list:
    return [item["id"] for item in response.get_json() or []]


def incident_status(world: World, incident_id: int) -> Callable[[], bool]:
    return lambda: world.read(select(Incident.status).where(Incident.id == incident_id)) == "resolved"


def task_is(world: World, task_id: int, status: str, assignee: Optional[str] = "any") -> Callable[[], bool]:
    def check() -> bool:
        with world.database.session() as session:
            row = session.get(HumanTask, task_id)
            return row.status == status and (assignee == "any" or row.assignee == assignee)
    return check


def count_of(world: World, model) -> Callable[[], int]:
    return lambda: world.read(select(func.count()).select_from(model))


def more_than_before(world: World, model) -> Callable[[], bool]:
    counted = count_of(world, model)
    before = counted()
    return lambda: counted() > before


def token_of(world: World, username: str) -> Call:
    with world.database.session() as session:
        row, _secret = users.create_token(session, users.get_user(session, username), "matrix")
        session.commit()
        token_id = row.id
    return Call({"token_id": token_id},
                done=lambda: world.read(select(ApiToken.revoked_at).where(ApiToken.id == token_id)) is not None)


def retry_incident(world: World, name: Optional[str]) -> Call:
    incident_id = world.fresh_incident()
    return Call({"incident_id": incident_id}, form={}, done=incident_status(world, incident_id))


def resolve_incident(world: World, name: Optional[str]) -> Call:
    incident_id = world.fresh_incident()
    return Call({"incident_id": incident_id}, json={"comment": "已人工处理"}, form={"comment": "已人工处理"},
                done=incident_status(world, incident_id))


def cancel_instance(world: World, name: Optional[str]) -> Call:
    instance_id = world.start_refund()
    return Call({"instance_id": instance_id}, json={"reason": "矩阵测试"},
                done=lambda: world.read(select(Instance.status).where(Instance.id == instance_id)) == "cancelled")


def edit_buyer(world: World, name: Optional[str]) -> Call:
    """An admin's correction of a fresh refund's buyer (issue 15): the variable changed is the cell's proof."""
    instance_id = world.start_refund()
    return Call({"instance_id": instance_id, "name": "buyer"}, json={"value": "老王", "reason": "矩阵测试"},
                done=lambda: world.read(select(Instance.data).where(Instance.id == instance_id))["buyer"] == "老王")


def claimed_by_other_supervisor(world: World, name: Optional[str]) -> Call:
    task_id = world.fresh_task()
    with world.database.session() as session:
        runtime.claim_task(session, task_id, users.get_user(session, OTHER_SUPERVISOR))
    return Call({"task_id": task_id}, done=task_is(world, task_id, "open"))


def delegated_task(world: World, name: Optional[str], delegate: Optional[str] = None) -> int:
    """A fresh task claimed by the other supervisor and, when ``delegate`` is given, delegated to them
    (issue 14)."""
    task_id = world.fresh_task()
    with world.database.session() as session:
        runtime.claim_task(session, task_id, users.get_user(session, OTHER_SUPERVISOR))
        if delegate:
            runtime.delegate_task(session, task_id, delegate, users.get_user(session, OTHER_SUPERVISOR))
    return task_id


def task_delegation(world: World, task_id: int, state: str) -> Callable[[], bool]:
    return lambda: world.read(select(HumanTask.delegation).where(HumanTask.id == task_id)) == state


def delegate_call(world: World, name: Optional[str]) -> Call:
    task_id = delegated_task(world, name)
    return Call({"task_id": task_id}, json={"user": USERS["supervisor"]},
                done=task_delegation(world, task_id, "pending"))


def resolve_call(world: World, name: Optional[str]) -> Call:
    task_id = delegated_task(world, name, USERS["supervisor"])
    return Call({"task_id": task_id}, json={}, done=task_delegation(world, task_id, "resolved"))


def bulk_claim(world: World, name: Optional[str]) -> Call:
    task_id = world.fresh_task()
    return Call(json={"task_ids": [task_id]}, listed=lambda r: task_id in (r.get_json() or {}).get("claimed", []))


def saved_filter_of(world: World, name: Optional[str]) -> Call:
    with world.database.session() as session:
        row = saved_filters.create_filter(session, users.get_user(session, name or "kefu"), "matrix-delete",
                                          {"tab": "mine"})
        filter_id = row.id
    return Call({"filter_id": filter_id},
                done=lambda: world.read(select(func.count()).select_from(SavedFilter)
                                        .where(SavedFilter.id == filter_id)) == 0)


def fresh_task(done: Callable[[World, int], Callable[[], bool]], **body) -> Callable:
    def make(world: World, name: Optional[str]) -> Call:
        task_id = world.fresh_task()
        return Call({"task_id": task_id}, done=done(world, task_id), **body)
    return make


def send_message(world: World, name: Optional[str]) -> Call:
    message_id = f"matrix-{name}"
    order = {"order_no": f"M-{name}"}
    return Call(json={"name": "refund_requested", "correlation": order, "message_id": message_id,
                      "data": {**order, "buyer": "小李", "goods_received": False, "quality_issue": False,
                               "days_since_signed": 0, "reason": "已发货后取消"}},
                done=lambda: world.read(select(func.count()).select_from(Message)
                                        .where(Message.message_id == message_id)) == 1)


def signal_instance(world: World, name: Optional[str]) -> Call:
    """A fresh instance waiting at a receive task without a message, signalled."""
    with world.database.session() as session:
        runtime.deploy_paths(session, [DATA / "receive_signal.bpmn"])
        instance_id = runtime.start_instance(session, "receive_signal", {}, users.get_user(session, "root")).id
    return Call({"instance_id": instance_id}, json={"element_id": "Wait_confirmation", "data": {"confirmed_by": "m"}},
                done=lambda: world.read(select(Instance.status).where(Instance.id == instance_id)) == "completed")


SIGNAL_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://example.com/matrix">
  <bpmn:signal id="S_recall" name="matrix_recall"/>
  <bpmn:process id="matrix_recall" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="c"/>
    <bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition signalRef="S_recall"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="c" targetRef="e"/><bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def broadcast_signal(world: World, name: Optional[str]) -> Call:
    """A fresh instance waiting for signal ``matrix_recall``, broadcast to."""
    with world.database.session() as session:
        if world.read(select(func.count()).select_from(Definition)
                      .where(Definition.process_id == "matrix_recall")) == 0:
            runtime.deploy_definitions(session, {"matrix_recall.bpmn": SIGNAL_MODEL.encode()}, {})
        instance_id = runtime.start_instance(session, "matrix_recall", {}, users.get_user(session, "root")).id
    return Call(json={"name": "matrix_recall", "variables": {}},
                done=lambda: world.read(select(Instance.status).where(Instance.id == instance_id)) == "completed")


def upload_definition(world: World, name: Optional[str]) -> Call:
    return Call(body=(DATA / "loop.bpmn").read_bytes(), content_type="application/xml",
                query={"filename": "loop.bpmn"},
                done=lambda: world.read(select(func.count()).select_from(Definition)
                                        .where(Definition.process_id == "bench_loop")) > 0)


EXTERNAL_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://example.com/matrix">
  <bpmn:error id="Err" name="Declined" errorCode="CARD_DECLINED"/>
  <bpmn:process id="matrix_charge" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Pay"/>
    <bpmn:serviceTask id="Pay" camunda:type="external" camunda:topic="matrix_payments">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="Pay" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="Declined" attachedToRef="Pay"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:errorEventDefinition errorRef="Err"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="Declined" targetRef="e2"/>
    <bpmn:endEvent id="e2"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def fresh_external_task(world: World, lock: bool = True) -> int:
    """A fresh instance waiting at an external task; locked by worker ``matrix`` when ``lock``."""
    with world.database.session() as session:
        root = users.get_user(session, "root")
        if session.scalar(select(func.count()).select_from(Definition)
                          .where(Definition.process_id == "matrix_charge")) == 0:
            session.rollback()
            runtime.deploy_definitions(session, {"matrix_charge.bpmn": EXTERNAL_MODEL.encode()}, {})
        instance_id = runtime.start_instance(session, "matrix_charge", {}, root).id
        task_id = session.scalar(select(ExternalTask.id).where(ExternalTask.instance_id == instance_id))
        session.commit()
        if lock:
            session.execute(update(ExternalTask).where(ExternalTask.id == task_id).values(
                worker_id="matrix", lock_expires_at=datetime(2100, 1, 1)))
            session.commit()
    return task_id


def external_task_call(done: Callable[[World, int], Callable[[], bool]], **body) -> Callable:
    def make(world: World, name: Optional[str]) -> Call:
        task_id = fresh_external_task(world)
        return Call({"task_id": task_id}, json={"worker_id": "matrix", **body}, done=done(world, task_id))
    return make


def external_task_gone(world: World, task_id: int) -> Callable[[], bool]:
    return lambda: world.read(select(func.count()).select_from(ExternalTask).where(ExternalTask.id == task_id)) == 0


def fetch_external_tasks(world: World, name: Optional[str]) -> Call:
    fresh_external_task(world, lock=False)
    worker = f"fetch-{name}"
    return Call(json={"worker_id": worker, "max_tasks": 5,
                      "topics": [{"name": "matrix_payments", "lock_duration_ms": 60_000}]},
                done=lambda: world.read(select(func.count()).select_from(ExternalTask)
                                        .where(ExternalTask.worker_id == worker)) > 0)


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(32)
BOUNDARY = "matrix-boundary"


def multipart_png() -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"matrix.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + PNG_BYTES + f"\r\n--{BOUNDARY}--\r\n".encode()


def comment_call(values: Callable[[World], dict]) -> Callable:
    """Comment on the prepared task or instance (issue 14)."""
    return lambda w, n: Call(values(w), json={"text": "矩阵评论"}, form={"text": "矩阵评论"},
                             done=more_than_before(w, Comment))


def upload_call(values: Callable[[World], dict]) -> Callable:
    """Upload a PNG to the prepared task or instance, or stage one for a start (issue 14)."""
    return lambda w, n: Call(values(w), body=multipart_png(), content_type=f"multipart/form-data; boundary={BOUNDARY}",
                             form={"file": (io.BytesIO(PNG_BYTES), "matrix.png")}, done=more_than_before(w, Attachment))


def attachment_of(world: World, name: Optional[str]) -> Call:
    """An image attached to the prepared instance by an admin."""
    with world.database.session() as session:
        [row] = collaboration.attach_to_instance(session, world.instance_id, [("matrix.png", PNG_BYTES)],
                                                 users.get_user(session, "root"))
    return Call({"attachment_id": row.id})


def html_has(pattern: str) -> Callable[[Any], bool]:
    return lambda response: pattern in response.get_data(as_text=True)


RECIPES: dict[str, Callable[[World, Optional[str]], Call]] = {
    # API
    "GET /api/v1/openapi.json": lambda w, n: Call(),
    "POST /api/v1/tokens": lambda w, n: Call(json={"label": "matrix"}, done=more_than_before(w, ApiToken)),
    "GET /api/v1/tokens": lambda w, n: Call(),
    "DELETE /api/v1/tokens/{token_id}": lambda w, n: token_of(w, n or "kefu"),
    "GET /api/v1/definitions": lambda w, n: Call(),
    "POST /api/v1/definitions": upload_definition,
    "GET /api/v1/definitions/{process_id}": lambda w, n: Call({"process_id": "refund"}),
    "GET /api/v1/definitions/{process_id}/xml": lambda w, n: Call({"process_id": "refund"}),
    "GET /api/v1/instances": lambda w, n: Call(listed=lambda r: w.instance_id in ids_of(r)),
    "POST /api/v1/instances": lambda w, n: Call(json={"process_id": "refund", "data": START_DATA},
                                                done=more_than_before(w, Instance)),
    "GET /api/v1/instances/{instance_id}": lambda w, n: Call({"instance_id": w.instance_id}),
    "POST /api/v1/instances/{instance_id}/cancel": cancel_instance,
    "GET /api/v1/instances/{instance_id}/history": lambda w, n: Call({"instance_id": w.instance_id}),
    "POST /api/v1/instances/{instance_id}/signal": signal_instance,
    "GET /api/v1/tasks": lambda w, n: Call(query={"scope": "all"}, listed=lambda r: w.task_id in ids_of(r)),
    "GET /api/v1/tasks/{task_id}": lambda w, n: Call({"task_id": w.task_id}),
    "POST /api/v1/tasks/{task_id}/claim": fresh_task(lambda w, t: task_is(w, t, "claimed")),
    "POST /api/v1/tasks/{task_id}/unclaim": claimed_by_other_supervisor,
    "POST /api/v1/tasks/{task_id}/complete": fresh_task(lambda w, t: task_is(w, t, "completed"),
                                                        json={"data": {"approved": True,
                                                                       "approval_comment": "同意"}}),
    "POST /api/v1/tasks/{task_id}/reassign": fresh_task(lambda w, t: task_is(w, t, "claimed", OTHER_SUPERVISOR),
                                                        json={"user": OTHER_SUPERVISOR, "reason": "休假"}),
    "POST /api/v1/tasks/claim": bulk_claim,
    "PATCH /api/v1/tasks/{task_id}": fresh_task(
        lambda w, t: lambda: w.read(select(HumanTask.priority).where(HumanTask.id == t)) == 80, json={"priority": 80}),
    "POST /api/v1/tasks/{task_id}/delegate": delegate_call,
    "POST /api/v1/tasks/{task_id}/resolve": resolve_call,
    "GET /api/v1/filters": lambda w, n: Call(),
    "POST /api/v1/filters": lambda w, n: Call(json={"name": "matrix", "query": {"tab": "claimable"}},
                                              done=more_than_before(w, SavedFilter)),
    "DELETE /api/v1/filters/{filter_id}": saved_filter_of,
    "POST /api/v1/messages": send_message,
    "GET /api/v1/messages": lambda w, n: Call(),
    "POST /api/v1/signals": broadcast_signal,
    "GET /api/v1/incidents": lambda w, n: Call(listed=lambda r: w.incident_id in ids_of(r)),
    "GET /api/v1/incidents/{incident_id}": lambda w, n: Call({"incident_id": w.incident_id}),
    "POST /api/v1/incidents/{incident_id}/retry": retry_incident,
    "POST /api/v1/incidents/{incident_id}/resolve": resolve_incident,
    "POST /api/v1/external-tasks/fetch-and-lock": fetch_external_tasks,
    "POST /api/v1/external-tasks/{task_id}/complete": external_task_call(external_task_gone),
    "POST /api/v1/external-tasks/{task_id}/failure": external_task_call(
        lambda w, t: lambda: w.read(select(ExternalTask.error_message).where(ExternalTask.id == t)) == "matrix",
        error_message="matrix", retries=1),
    "POST /api/v1/external-tasks/{task_id}/bpmn-error": external_task_call(external_task_gone,
                                                                           error_code="CARD_DECLINED"),
    "POST /api/v1/external-tasks/{task_id}/extend-lock": external_task_call(
        lambda w, t: lambda: w.read(select(ExternalTask.lock_expires_at).where(ExternalTask.id == t)).year < 2100,
        new_duration_ms=60_000),
    "GET /api/v1/external-tasks": lambda w, n: Call(),
    "POST /api/v1/tasks/{task_id}/comments": comment_call(lambda w: {"task_id": w.task_id}),
    "GET /api/v1/tasks/{task_id}/comments": lambda w, n: Call({"task_id": w.task_id}),
    "POST /api/v1/instances/{instance_id}/comments": comment_call(lambda w: {"instance_id": w.instance_id}),
    "GET /api/v1/instances/{instance_id}/comments": lambda w, n: Call({"instance_id": w.instance_id}),
    "POST /api/v1/tasks/{task_id}/attachments": upload_call(lambda w: {"task_id": w.task_id}),
    "POST /api/v1/instances/{instance_id}/attachments": upload_call(lambda w: {"instance_id": w.instance_id}),
    "GET /api/v1/instances/{instance_id}/attachments": lambda w, n: Call({"instance_id": w.instance_id}),
    "GET /api/v1/attachments/{attachment_id}": attachment_of,
    "POST /api/v1/attachments": upload_call(lambda w: {}),
    "GET /api/v1/operations": lambda w, n: Call(),
    "GET /api/v1/audit/verify": lambda w, n: Call(query={"instance_id": w.instance_id}),
    "GET /api/v1/audit/head": lambda w, n: Call(),
    "GET /api/v1/audit/anchors": lambda w, n: Call(),
    "GET /api/v1/instances/{instance_id}/report.json": lambda w, n: Call({"instance_id": w.instance_id}),
    "GET /api/v1/instances/{instance_id}/variables/{name}/history": lambda w, n: Call(
        {"instance_id": w.instance_id, "name": "buyer"}),
    "PUT /api/v1/instances/{instance_id}/variables/{name}": edit_buyer,
    # pages
    "GET /worklist": lambda w, n: Call(),
    "GET /start": lambda w, n: Call(),
    # the last page (the list is newest first): the API rows before it start more than a page of fresh instances
    "GET /instances": lambda w, n: Call(query={"page": "999"},
                                        listed=lambda r: html_has(f'href="/instances/{w.instance_id}"')(r)),
    "GET /instances/{instance_id}": lambda w, n: Call({"instance_id": w.instance_id}),
    "GET /tasks/{task_id}": lambda w, n: Call({"task_id": w.task_id}),
    "GET /incidents/": lambda w, n: Call(listed=lambda r: html_has(f'data-incident-id="{w.incident_id}"')(r)),
    "GET /incidents/{incident_id}": lambda w, n: Call({"incident_id": w.incident_id}),
    "POST /incidents/{incident_id}/retry": retry_incident,
    "POST /incidents/{incident_id}/resolve": resolve_incident,
    "GET /audit/": lambda w, n: Call(),
    "GET /audit/operations": lambda w, n: Call(),
    "GET /audit/anchors": lambda w, n: Call(),
    "GET /instances/{instance_id}/report": lambda w, n: Call({"instance_id": w.instance_id}),
    "GET /admin/definitions": lambda w, n: Call(),
    "GET /admin/users/": lambda w, n: Call(),
    "POST /tasks/{task_id}/comments": comment_call(lambda w: {"task_id": w.task_id}),
    "POST /instances/{instance_id}/comments": comment_call(lambda w: {"instance_id": w.instance_id}),
    "POST /tasks/{task_id}/attachments": upload_call(lambda w: {"task_id": w.task_id}),
    "POST /instances/{instance_id}/attachments": upload_call(lambda w: {"instance_id": w.instance_id}),
    "GET /attachments/{attachment_id}": attachment_of,
    "GET /attachments/{attachment_id}/thumbnail": attachment_of,
}


# -- performing a cell -------------------------------------------------------------------------------------

def perform(row: Row, call: Call, client, name: Optional[str]):
    path = row.path.format(**call.values)
    if row.table == "Page":
        return client.open(path, method=row.method, data=call.form if row.method == "POST" else None,
                           query_string=call.query)
    headers = basic_auth(name) if name else {}
    options: dict[str, Any] = {"method": row.method, "headers": headers, "query_string": call.query}
    if call.body is not None:
        options.update(data=call.body, content_type=call.content_type)
    elif call.json is not None:
        options["json"] = call.json
    return client.open(path, **options)


def outcome(row: Row, call: Call, response) -> str:
    """What happened, in the matrix's words."""
    status = response.status_code
    if row.table == "Page" and status in (302, 303) and "/login" in response.headers.get("Location", ""):
        return "login"
    succeeded = 200 <= status < 300 or (row.table == "Page" and row.method == "POST" and status in (302, 303))
    if not succeeded:
        return str(status)
    if call.listed is not None:
        return "listed" if call.listed(response) else "hidden"
    return "✓"


def test_the_matrix_has_a_column_per_role_and_a_recipe_per_row():
    assert [h[0] for h in headers()] == list(TABLES)
    for header in headers():
        assert header[1:] == list(USERS), "SECURITY.md's matrix columns must be the roles of USERS, in order"
    rows = matrix()
    keys = [(row.table, row.key) for row in rows]
    assert len(keys) == len(set(keys)), "a row appears twice in SECURITY.md"
    assert {row.key for row in rows} == set(RECIPES), "every row of SECURITY.md needs a recipe here, and back"
    allowed = {"✓", "listed", "hidden", "401", "403", "404", "login"}
    assert {cell for row in rows for cell in row.cells.values()} <= allowed


def test_every_api_endpoint_has_a_row_and_every_row_an_endpoint(client):
    document = client.get("/api/v1/openapi.json").get_json()
    endpoints = {f"{method.upper()} {path}" for path, operations in document["paths"].items()
                 for method in operations}
    rows = {row.key for row in matrix() if row.table == "API endpoint"}
    assert endpoints - rows == set(), "endpoints without a row in SECURITY.md's access matrix"
    assert rows - endpoints == set(), "rows of SECURITY.md's access matrix that are not endpoints"


def test_every_page_row_is_a_page(app):
    rules = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)) for rule in app.url_map.iter_rules()
             for method in rule.methods}
    missing = [row.key for row in matrix() if row.table == "Page" and (row.method, row.path) not in rules]
    assert missing == []


@pytest.mark.parametrize("role", list(USERS))
def test_every_cell_of_the_matrix(role, world, web, browser_as):
    name = USERS[role]
    api_client = web.test_client()
    page_client = browser_as(name) if name else web.test_client()
    wrong = []
    for row in matrix():
        expected = row.cells[role]
        call = RECIPES[row.key](world, name)
        response = perform(row, call, page_client if row.table == "Page" else api_client, name)
        got = outcome(row, call, response)
        if got == expected and call.done is not None and call.done() != (got == "✓"):
            got = f"{got} but the change {'did not happen' if got == '✓' else 'happened'}"
        if got != expected:
            body = response.get_data(as_text=True)[:160]
            wrong.append(f"{row.key}: documented {expected}, got {got} ({response.status_code} {body!r})")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
