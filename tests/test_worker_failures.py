"""The worker survives any single failure (issue 10, point 2): each due timer fires in its own transaction;
one that fails (its step, or something outside the engine run: a start that raises, a database error) is
rolled back, logged and reported while the others fire; ``liucheng worker --once`` prints the failures and
exits 0; a tick never raises."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from engine import incidents, messages, runtime, scheduler, timers
from engine.runtime import firing, recovery, workflows
from engine.models import Timer
from webui.cli import main

WAITING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_wtimer" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="wtimer" name="等待后计算 (test)" isExecutable="true">
    <bpmn:laneSet id="LaneSet_wtimer">
      <bpmn:lane id="Lane_warehouse" name="warehouse">
        <bpmn:flowNodeRef>StartEvent_go</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Catch_wait</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Script_after</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_after</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_go" name="开始"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Catch_wait" name="等1小时">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_wait">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="Script_after" name="计算" scriptFormat="python">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:script>out = (n for n in [1]) if mode == "generator" else mode</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="Task_after" name="处理"><bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_done" name="完成"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_go" targetRef="Catch_wait"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Catch_wait" targetRef="Script_after"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Script_after" targetRef="Task_after"/>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Task_after" targetRef="EndEvent_done"/>
  </bpmn:process>
</bpmn:definitions>
"""
TICKING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_wstart" targetNamespace="http://liucheng.example/tests">
  <bpmn:process id="wstart" name="定时开始 (test)" isExecutable="true">
    <bpmn:laneSet id="LaneSet_wstart">
      <bpmn:lane id="Lane_warehouse" name="warehouse">
        <bpmn:flowNodeRef>StartEvent_tick</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_batch</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_tick" name="每天">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_tick">
        <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R/2026-11-02T17:30:00+08:00/P1D</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="Task_batch" name="处理批次"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_done" name="完成"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_tick" targetRef="Task_batch"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_batch" targetRef="EndEvent_done"/>
  </bpmn:process>
</bpmn:definitions>
"""
MODES = ("first", "generator", "escape", "last")


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def waiting(deploy, make_user, clock, api, tmp_path):
    """One waiting instance per mode (timer due in 1 h) and a start timer due at 09:30; {mode: instance id}."""
    make_user("wang", "warehouse")
    make_user("root", "admin")
    for name, content in (("wtimer.bpmn", WAITING), ("wstart.bpmn", TICKING)):
        (Path(tmp_path) / name).write_text(content, encoding="utf-8")
    deploy(Path(tmp_path) / "wtimer.bpmn", Path(tmp_path) / "wstart.bpmn")
    ids = {}
    for mode in MODES:
        started = api("post", "/instances", "wang", json={"process_id": "wtimer", "data": {"mode": mode}})
        assert started.status_code == 201, started.json
        ids[mode] = started.json["id"]
    clock.advance(hours=2)
    return ids


@pytest.fixture
def escaping(monkeypatch, waiting):
    """The 'escape' instance's timer raises outside the engine run; the start timer's start raises."""
    load = workflows.load_workflow

    def failing_load(session, instance, version):
        if instance.id == waiting["escape"]:
            raise RuntimeError("simulated failure outside the engine run")
        return load(session, instance, version)

    def failing_start(*args, **kwargs):
        raise RuntimeError("simulated start failure")

    monkeypatch.setattr(workflows, "load_workflow", failing_load)
    monkeypatch.setattr(firing, "start_for_timer", failing_start)
    return waiting


def view(api, instance_id: int) -> dict:
    response = api("get", f"/instances/{instance_id}", "root")
    assert response.status_code == 200, response.json
    return response.json


def timer_rows(database, instance_id=None, process_id=None) -> list:
    with database.session() as session:
        query = select(Timer.id, Timer.status, Timer.element_id, Timer.locked_by)
        query = query.where(Timer.instance_id == instance_id) if instance_id else query.where(
            Timer.process_id == process_id)
        return list(session.execute(query))


def open_elements(api, instance_id: int) -> list[str]:
    return [t["element_id"] for t in view(api, instance_id)["open_tasks"]]


# -- liucheng worker --once --------------------------------------------------------------------------

def test_worker_once_fires_all_others_prints_the_failures_and_exits_0(api, database, database_url, escaping):
    result = CliRunner().invoke(main, ["--database", database_url, "worker", "--once"])
    assert result.exit_code == 0, result.output
    ids = escaping
    # the others fired and ran on
    assert open_elements(api, ids["first"]) == ["Task_after"] and open_elements(api, ids["last"]) == ["Task_after"]
    assert view(api, ids["first"])["data"]["out"] == "first"
    # the generator: its timer fired, its script step failed with an incident naming element and variable
    (incident,) = api("get", f"/incidents?instance_id={ids['generator']}", "root").json
    assert incident["element_id"] == "Script_after" and "'out'" in incident["message"]
    # the escaping one: rolled back, still waiting for its timer (tried again when its lease runs out)
    assert open_elements(api, ids["escape"]) == []
    assert [(r.status, r.element_id) for r in timer_rows(database, ids["escape"])] == [("waiting", "Catch_wait")]
    (start_row,) = timer_rows(database, process_id="wstart")
    assert start_row.status == "waiting"
    assert api("get", "/instances?process_id=wstart", "root").json == []
    # what it printed: the count, then one line per failure with timer id, instance, element and message
    escape_timer = timer_rows(database, ids["escape"])[0].id
    lines = result.output.splitlines()
    assert lines[0].startswith("Fired 3 timer(s).") and "3 failure(s)" in lines[0], result.output
    assert any(f"timer {escape_timer}" in line and f"instance {ids['escape']}" in line and "Catch_wait" in line
               and "simulated failure outside the engine run" in line for line in lines), result.output
    assert any(f"instance {ids['generator']}" in line and "Script_after" in line and "'out'" in line
               for line in lines), result.output
    assert any(f"timer {start_row.id}" in line and "StartEvent_tick" in line and "simulated start failure" in line
               for line in lines), result.output


def test_a_failed_timer_fires_on_a_later_tick_once_its_cause_is_gone(api, database, escaping, monkeypatch, clock):
    failures: list = []
    assert scheduler.tick(database, failures=failures) == 3
    assert len(failures) == 3
    monkeypatch.undo()  # the cause is fixed
    assert scheduler.tick(database) == 0  # still leased by the tick that failed
    clock.advance(seconds=timers.LEASE.total_seconds() + 1)
    failures = []
    assert scheduler.tick(database, failures=failures) == 2
    assert failures == []
    assert open_elements(api, escaping["escape"]) == ["Task_after"]
    assert [i["process_id"] for i in api("get", "/instances?process_id=wstart", "root").json] == ["wstart"]


def test_a_database_error_in_one_timer_is_rolled_back_and_the_others_fire(api, database, waiting, monkeypatch):
    load = workflows.load_workflow

    def broken_sql(session, instance, version):
        if instance.id == waiting["escape"]:
            session.execute(text("SELECT no_such_column FROM no_such_table"))
        return load(session, instance, version)

    monkeypatch.setattr(workflows, "load_workflow", broken_sql)
    failures: list = []
    assert scheduler.tick(database, failures=failures) == 4  # three waiting timers and the start timer
    assert [f.instance_id for f in failures if f.what.startswith("timer") and "fired" not in f.what] == \
        [waiting["escape"]]
    assert open_elements(api, waiting["first"]) == ["Task_after"]
    assert open_elements(api, waiting["last"]) == ["Task_after"]
    assert open_elements(api, waiting["escape"]) == []
    assert len(api("get", "/instances?process_id=wstart", "root").json) == 1


# -- the long-running worker -----------------------------------------------------------------------------

def test_a_tick_never_raises_even_when_every_part_of_it_fails(database, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(runtime, "fire_due_timers", boom)
    monkeypatch.setattr(runtime, "retry_due_incidents", boom)
    monkeypatch.setattr(messages, "expire_old", boom)
    failures: list = []
    assert scheduler.tick(database, failures=failures) == 0
    assert [f.what for f in failures] == ["firing timers", "retrying incidents", "expiring kept messages"]
    assert all("database unreachable" in f.message for f in failures)
    assert scheduler.tick(database) == 0  # and the next tick runs as usual


def test_one_incident_retry_that_raises_does_not_stop_the_others(api, database, waiting, monkeypatch, clock):
    scheduler.tick(database)
    (incident,) = api("get", f"/incidents?instance_id={waiting['generator']}", "root").json
    assert incident["status"] == "retrying"
    retry = recovery.retry_incident
    tried = []

    def failing_retry(session, incident_id, actor=None):
        tried.append(incident_id)
        raise RuntimeError("simulated retry failure")

    monkeypatch.setattr(recovery, "retry_incident", failing_retry)
    clock.advance(seconds=incidents.BACKOFF[0].total_seconds())
    failures: list = []
    scheduler.tick(database, failures=failures)
    assert tried == [incident["id"]]
    assert [(f.what, f.instance_id, f.element_id) for f in failures] == [
        (f"incident {incident['id']} (retry)", waiting["generator"], "Script_after")]
    monkeypatch.setattr(recovery, "retry_incident", retry)
    scheduler.tick(database)
    after = api("get", f"/incidents/{incident['id']}", "root").json
    assert after["attempts"] == 2  # retried by the next tick


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cycle", ["garbage", "R/2026-11-02T17:30:00+08:00/P1DT",
                                   "R/2026-11-02T17:30:00+08:00/P9999999999999D",
                                   "R/2026-11-02T17:30:00+08:00/P99999999999Y", "P99999999999Y"])
def test_a_start_timer_that_cannot_be_scheduled_is_a_deploy_error_not_a_500(client, auth, make_user, clock,
                                                                            database, cycle):
    make_user("dora", "designer")
    xml = TICKING.replace("R/2026-11-02T17:30:00+08:00/P1D", cycle)
    if not cycle.startswith("R/"):
        xml = xml.replace("timeCycle", "timeDuration")
    response = client.post("/api/v1/definitions?filename=wstart.bpmn", data=xml.encode(),
                           headers={**auth("dora"), "Content-Type": "application/xml"})
    assert response.status_code == 422, response.json
    assert "StartEvent_tick" in response.json["message"] and cycle in response.json["message"]
    assert "ISO-8601" in response.json["message"]
    assert timer_rows(database, process_id="wstart") == []
    assert client.get("/api/v1/definitions/wstart", headers=auth("dora")).status_code == 404


@pytest.mark.timeout(60)
@pytest.mark.parametrize("duration", ["P99999999999Y", '"P" + str(years) + "Y"', "P99999999999M"])
def test_a_timer_of_billions_of_years_fails_its_step_instead_of_holding_the_process(api, deploy, make_user, clock,
                                                                                     tmp_path, duration):
    """SpiffWorkflow adds up a duration's months one by one: P99999999999Y would run for hours."""
    make_user("wang", "warehouse")
    make_user("root", "admin")
    path = Path(tmp_path) / "wtimer.bpmn"
    path.write_text(WAITING.replace(">PT1H<", ">" + duration.replace('"', "&quot;") + "<"), encoding="utf-8")
    deploy(path)
    started = api("post", "/instances", "wang", json={"process_id": "wtimer",
                                                       "data": {"mode": "x", "years": 99999999999}})
    assert started.status_code == 201, started.json
    (incident,) = api("get", f"/incidents?instance_id={started.json['id']}", "root").json
    assert incident["element_id"] == "Catch_wait" and "calendar" in incident["message"]
