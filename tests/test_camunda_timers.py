"""Timers as Camunda 7 runs them (issue 13, item 5): Quartz cron and ``R/…`` cycles, a ``timeDuration``
start timer that starts one instance once, timers already due when reached fired by the worker (a job,
not inline), a non-interrupting boundary timer's path outliving the main path, malformed timers refused
at deploy with their location.

No test sleeps: the ``clock`` fixture is moved and the worker runs by hand (``runtime.fire_due_timers``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import clock as engine_clock, runtime, timer_cycles
from engine.models import Instance, Timer

T0 = datetime(2026, 11, 2, 9, 0)  # the frozen clock's start (a Monday), UTC = 17:00 in Shanghai
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" targetNamespace="http://liucheng.test">\n')


def model(process_id: str, body: str) -> str:
    return f'{HEAD}<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>\n</bpmn:definitions>\n'


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def people(make_user):
    make_user("root", "admin")


def upload(api, process_id: str, body: str):
    """Deploy a process with that body through the API (as an admin); the response."""
    return api("post", f"/definitions?filename={process_id}.bpmn", data=model(process_id, body).encode(),
               content_type="application/xml")


@pytest.fixture
def deploy_text(api, people, clock):
    """``deploy_text("p", body)`` deploys a process with that body (201 expected)."""
    def run(process_id: str, body: str):
        response = upload(api, process_id, body)
        assert response.status_code == 201, response.json
        return response.json
    return run


def start(api, process_id: str, data: dict | None = None) -> int:
    response = api("post", "/instances", json={"process_id": process_id, "data": data or {}})
    assert response.status_code == 201, response.json
    return response.json["id"]


def view(api, instance_id: int) -> dict:
    response = api("get", f"/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def open_tasks(api, instance_id: int) -> dict[str, dict]:
    return {t["element_id"]: t for t in view(api, instance_id)["open_tasks"]}


def complete(api, task: dict, data: dict | None = None, user: str = "root") -> None:
    if task["status"] == "open":
        claimed = api("post", f"/tasks/{task['id']}/claim", user)
        assert claimed.status_code == 200, claimed.json
    response = api("post", f"/tasks/{task['id']}/complete", user, json={"data": data or {}})
    assert response.status_code == 200, response.json


def instances_of(database, process_id: str) -> list[Instance]:
    with database.session() as session:
        return list(session.scalars(select(Instance).where(Instance.process_id == process_id).order_by(Instance.id)))


def timer_rows(database, **where) -> list[Timer]:
    with database.session() as session:
        query = select(Timer).order_by(Timer.due_at, Timer.id)
        for column, value in where.items():
            query = query.where(getattr(Timer, column) == value)
        return list(session.scalars(query))


# -- a non-interrupting boundary timer's path outlives the main path ----------------------------------

REMINDER = """
<bpmn:startEvent id="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="A"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:boundaryEvent id="Remind" cancelActivity="false" attachedToRef="A"><bpmn:outgoing>f3</bpmn:outgoing>
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:userTask id="B"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="EndA"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:endEvent id="EndB"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="A"/>
<bpmn:sequenceFlow id="f2" sourceRef="A" targetRef="EndA"/>
<bpmn:sequenceFlow id="f3" sourceRef="Remind" targetRef="B"/>
<bpmn:sequenceFlow id="f4" sourceRef="B" targetRef="EndB"/>
"""


def test_non_interrupting_boundary_timer_path_survives_the_main_path_ending(api, deploy_text, clock, database):
    deploy_text("reminder", REMINDER)
    iid = start(api, "reminder")
    clock.advance(hours=1)
    assert fire(database) == 1
    assert set(open_tasks(api, iid)) == {"A", "B"}
    complete(api, open_tasks(api, iid)["A"])
    assert view(api, iid)["status"] == "running"
    assert set(open_tasks(api, iid)) == {"B"}
    complete(api, open_tasks(api, iid)["B"])
    assert view(api, iid)["status"] == "completed"


def test_completing_the_task_before_its_non_interrupting_timer_fires_ends_the_instance(api, deploy_text, clock,
                                                                                       database):
    deploy_text("reminders", REMINDER.replace("<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
                                              "<bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>"))
    iid = start(api, "reminders")
    complete(api, open_tasks(api, iid)["A"])
    assert view(api, iid)["status"] == "completed"
    assert timer_rows(database, instance_id=iid) == []

def test_non_interrupting_cycle_boundary_timer_paths_survive_the_main_path_and_the_cycle_stops(
        api, deploy_text, clock, database):
    deploy_text("reminders", REMINDER.replace("<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
                                              "<bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>"))
    iid = start(api, "reminders")
    clock.advance(hours=1)
    assert fire(database) == 1
    clock.advance(hours=1)
    assert fire(database) == 1
    assert sorted(t["element_id"] for t in view(api, iid)["open_tasks"]) == ["A", "B", "B"]
    complete(api, open_tasks(api, iid)["A"])  # the cycle had one repetition left: it stops, the Bs go on
    assert view(api, iid)["status"] == "running"
    assert sorted(t["element_id"] for t in view(api, iid)["open_tasks"]) == ["B", "B"]
    assert timer_rows(database, instance_id=iid) == []
    clock.advance(hours=5)
    assert fire(database) == 0
    for task in view(api, iid)["open_tasks"]:
        complete(api, task)
    assert view(api, iid)["status"] == "completed"


# -- cycles: Quartz cron and ISO-8601 repetitions ---------------------------------------------------------

def start_rows(database, process_id: str) -> list[Timer]:
    return [r for r in timer_rows(database, process_id=process_id) if r.instance_id is None]


def started_once(database, process_id: str, at: datetime) -> None:
    """At ``at`` the worker starts exactly one new instance of ``process_id``."""
    before = len(instances_of(database, process_id))
    assert fire(database, at) == 1
    assert len(instances_of(database, process_id)) == before + 1
    assert fire(database, at) == 0


def fire(database, at: datetime | None = None) -> int:
    return runtime.fire_due_timers(database, now=at)


def timer_start(definition: str) -> str:
    return f"""
<bpmn:startEvent id="Tick"><bpmn:outgoing>f1</bpmn:outgoing>
  <bpmn:timerEventDefinition>{definition}</bpmn:timerEventDefinition></bpmn:startEvent>
<bpmn:userTask id="Work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="Tick" targetRef="Work"/>
<bpmn:sequenceFlow id="f2" sourceRef="Work" targetRef="End"/>
"""


def test_cron_start_timer_fires_at_the_cron_times_of_the_department_time_zone(api, deploy_text, clock, database):
    deploy_text("weekdays", timer_start("<bpmn:timeCycle>0 0 9 ? * MON-FRI</bpmn:timeCycle>"))
    (row,) = start_rows(database, "weekdays")
    assert row.due_at == datetime(2026, 11, 3, 1, 0)  # Tuesday 09:00 in Shanghai (Monday 17:00 is past 09:00)
    clock.current = datetime(2026, 11, 3, 0, 59)
    assert fire(database) == 0
    clock.current = datetime(2026, 11, 3, 1, 0)
    started_once(database, "weekdays", clock.current)
    (instance,) = instances_of(database, "weekdays")
    assert set(open_tasks(api, instance.id)) == {"Work"}
    (row,) = start_rows(database, "weekdays")
    assert row.due_at == datetime(2026, 11, 4, 1, 0)
    clock.current = datetime(2026, 11, 6, 1, 0)  # Friday: the worker was down Wednesday and Thursday
    started_once(database, "weekdays", clock.current)
    (row,) = start_rows(database, "weekdays")
    assert row.due_at == datetime(2026, 11, 9, 1, 0)  # Monday, not Saturday


def test_cron_every_five_minutes_on_a_non_interrupting_boundary_timer(api, deploy_text, clock, database):
    deploy_text("nag", REMINDER.replace("<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
                                        "<bpmn:timeCycle>0 0/5 * * * ?</bpmn:timeCycle>"))
    clock.current = datetime(2026, 11, 2, 9, 2, 30)
    iid = start(api, "nag")
    (row,) = timer_rows(database, instance_id=iid)
    assert row.due_at == datetime(2026, 11, 2, 9, 5)
    assert open_tasks(api, iid)["A"]["due_at"].startswith("2026-11-02T09:05:00")
    for minute in (5, 10, 15):
        clock.current = datetime(2026, 11, 2, 9, minute)
        assert fire(database) == 1
    assert sorted(t["element_id"] for t in view(api, iid)["open_tasks"]) == ["A", "B", "B", "B"]
    (row,) = timer_rows(database, instance_id=iid)
    assert row.due_at == datetime(2026, 11, 2, 9, 20)


def test_repeat_cycle_on_a_start_event_counts_its_repetitions_from_deployment(api, deploy_text, clock, database):
    deploy_text("thrice", timer_start("<bpmn:timeCycle>R3/PT10H</bpmn:timeCycle>"))
    (row,) = start_rows(database, "thrice")
    assert row.due_at == T0 + timedelta(hours=10)
    for hours in (10, 20, 30):
        clock.current = T0 + timedelta(hours=hours)
        started_once(database, "thrice", clock.current)
    assert start_rows(database, "thrice") == []
    clock.current = T0 + timedelta(hours=40)
    assert fire(database) == 0
    assert len(instances_of(database, "thrice")) == 3


def test_repeat_cycle_with_a_start_date_fires_from_that_date(api, deploy_text, clock, database):
    deploy_text("daily", timer_start("<bpmn:timeCycle>R/2026-12-01T00:00:00+08:00/P1D</bpmn:timeCycle>"))
    (row,) = start_rows(database, "daily")
    assert row.due_at == datetime(2026, 11, 30, 16, 0)
    clock.current = datetime(2026, 11, 30, 16, 0)
    started_once(database, "daily", clock.current)
    (row,) = start_rows(database, "daily")
    assert row.due_at == datetime(2026, 12, 1, 16, 0)



def test_a_cycle_expression_giving_a_cron_repeats_at_the_cron_times(api, deploy_text, clock, database):
    deploy_text("chosen", REMINDER.replace("<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
                                           "<bpmn:timeCycle>schedule</bpmn:timeCycle>"))
    iid = start(api, "chosen", {"schedule": "0 30 * * * ?"})  # at half past every hour
    (row,) = timer_rows(database, instance_id=iid)
    assert row.due_at == datetime(2026, 11, 2, 9, 30)
    clock.current = datetime(2026, 11, 2, 9, 30)
    assert fire(database) == 1
    (row,) = timer_rows(database, instance_id=iid)
    assert row.due_at == datetime(2026, 11, 2, 10, 30)


@pytest.mark.parametrize("cron, after, expected", [
    ("0 0/5 * * * ?", "2026-11-02T17:02:30", "2026-11-02T17:05:00"),
    ("*/20 * * * * ?", "2026-11-02T17:00:50", "2026-11-02T17:01:00"),
    ("0 15 10 ? * MON-FRI", "2026-11-06T11:00:00", "2026-11-09T10:15:00"),  # Friday after 10:15: Monday
    ("0 0 12 L * ?", "2026-02-01T00:00:00", "2026-02-28T12:00:00"),  # the last day of the month
    ("0 0 12 L-2 * ?", "2026-11-01T00:00:00", "2026-11-28T12:00:00"),
    ("0 0 9 1W * ?", "2026-11-01T00:00:00", "2026-11-02T09:00:00"),  # the 1st is a Sunday: Monday the 2nd
    ("0 0 9 LW * ?", "2026-10-01T00:00:00", "2026-10-30T09:00:00"),  # the 31st is a Saturday: Friday
    ("0 0 10 ? * 6L", "2026-11-01T00:00:00", "2026-11-27T10:00:00"),  # the last Friday
    ("0 0 10 ? * 2#1", "2026-11-03T00:00:00", "2026-12-07T10:00:00"),  # the first Monday
    ("0 0 0 1 JAN ? 2028", "2026-11-01T00:00:00", "2028-01-01T00:00:00"),
    ("0 0 0 1 1 ? 2025", "2026-11-01T00:00:00", None),  # its years are over
])
def test_quartz_cron_syntax_in_the_department_time_zone(cron, after, expected):
    zone = timer_cycles.time_zone()
    found = timer_cycles.next_after(cron, datetime.fromisoformat(after).replace(tzinfo=zone))
    assert (found.astimezone(zone).replace(tzinfo=None).isoformat() if found else None) == expected

# -- timer start events that fire once -------------------------------------------------------------------

def test_time_duration_start_timer_starts_one_instance_once_after_deployment(api, deploy_text, clock, database):
    deploy_text("once", timer_start("<bpmn:timeDuration>PT1H</bpmn:timeDuration>"))
    (row,) = start_rows(database, "once")
    assert row.due_at == T0 + timedelta(hours=1)
    clock.advance(hours=1)
    started_once(database, "once", clock.current)
    assert start_rows(database, "once") == []
    for _ in range(3):
        clock.advance(hours=1)
        assert fire(database) == 0
    assert len(instances_of(database, "once")) == 1


def test_past_time_date_start_timer_starts_once_at_the_next_firing(api, deploy_text, clock, database):
    deploy_text("late", timer_start("<bpmn:timeDate>2026-10-01T08:00:00+08:00</bpmn:timeDate>"))
    (row,) = start_rows(database, "late")
    assert row.due_at == datetime(2026, 10, 1, 0, 0)
    started_once(database, "late", clock.current)
    assert start_rows(database, "late") == []
    clock.advance(days=1)
    assert fire(database) == 0




# -- a timer due when reached is a job for the worker ---------------------------------------------------

def catch_timer(definition: str) -> str:
    return f"""
<bpmn:startEvent id="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
  <bpmn:timerEventDefinition>{definition}</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="Work"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="End"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Wait"/>
<bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="Work"/>
<bpmn:sequenceFlow id="f3" sourceRef="Work" targetRef="End"/>
"""


def history_types(api, instance_id: int) -> list[str]:
    return [e["type"] for e in api("get", f"/instances/{instance_id}/history").json]


class TickingClock(engine_clock.FrozenClock):
    """A clock that moves on a millisecond at every reading, as a real one does while a command runs."""

    def now(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current


def test_a_zero_duration_timer_becomes_a_due_timer_the_worker_fires(api, deploy_text, clock, database):
    deploy_text("now", catch_timer("<bpmn:timeDuration>PT0S</bpmn:timeDuration>"))
    previous = engine_clock.set_clock(TickingClock(T0))
    try:
        iid = start(api, "now")
    finally:
        engine_clock.set_clock(previous)
    clock.advance(seconds=1)
    assert open_tasks(api, iid) == {}  # the command that reached the timer did not fire it
    (row,) = timer_rows(database, instance_id=iid)
    assert row.element_id == "Wait" and row.due_at <= clock.current
    assert "timer_fired" not in history_types(api, iid)
    assert fire(database) == 1
    assert set(open_tasks(api, iid)) == {"Work"}
    assert history_types(api, iid).count("timer_fired") == 1


def test_a_past_time_date_timer_becomes_a_due_timer_the_worker_fires(api, deploy_text, clock, database):
    deploy_text("overdue", catch_timer("<bpmn:timeDate>2026-10-01T08:00:00+08:00</bpmn:timeDate>"))
    iid = start(api, "overdue")
    assert open_tasks(api, iid) == {}
    (row,) = timer_rows(database, instance_id=iid)
    assert row.due_at == datetime(2026, 10, 1, 0, 0)
    assert fire(database) == 1
    assert set(open_tasks(api, iid)) == {"Work"}
    (fired,) = [e for e in api("get", f"/instances/{iid}/history").json if e["type"] == "timer_fired"]
    assert fired["data"]["late_seconds"] == (T0 - datetime(2026, 10, 1)).total_seconds()


def test_a_cycle_already_due_when_reached_waits_for_the_worker(api, deploy_text, clock, database):
    deploy_text("backlog", REMINDER.replace("<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
                                            "<bpmn:timeCycle>R2/2026-11-01T00:00:00Z/P1D</bpmn:timeCycle>"))
    iid = start(api, "backlog")
    assert set(open_tasks(api, iid)) == {"A"}  # not fired while starting
    (row,) = timer_rows(database, instance_id=iid)
    assert row.due_at == datetime(2026, 11, 1, 0, 0)
    assert fire(database) == 1
    assert sorted(t["element_id"] for t in view(api, iid)["open_tasks"]) == ["A", "B"]

# -- malformed timers: located deploy errors ---------------------------------------------------------------

def refused(api, people, process_id: str, body: str) -> dict:
    """The one problem of a refused upload (422, nothing deployed)."""
    response = upload(api, process_id, body)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "invalid_definition"
    (problem,) = response.json["details"]["problems"]
    assert problem["file"] == f"{process_id}.bpmn" and isinstance(problem["line"], int)
    assert api("get", "/definitions").json == []
    return problem


def test_time_cycle_holding_a_duration_is_a_located_deploy_error_saying_what_to_write(api, people, clock):
    problem = refused(api, people, "hourly", timer_start("<bpmn:timeCycle>PT1H</bpmn:timeCycle>"))
    assert problem["element_id"] == "Tick"
    assert "R/PT1H" in problem["message"] and "timeDuration" in problem["message"]


def test_a_cron_Quartz_refuses_is_a_located_deploy_error(api, people, clock):
    problem = refused(api, people, "bad_cron", timer_start("<bpmn:timeCycle>0 61 * * * ?</bpmn:timeCycle>"))
    assert problem["element_id"] == "Tick"
    assert "'61' is not a valid minute" in problem["message"] and "0 0/5 * * * ?" in problem["message"]


def test_a_date_in_time_duration_is_a_located_deploy_error(api, people, clock):
    body = REMINDER.replace("<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
                            "<bpmn:timeDuration>2026-12-01T14:00:00+08:00</bpmn:timeDuration>")
    problem = refused(api, people, "dated", body)
    assert problem["element_id"] == "Remind"
    assert "timeDate" in problem["message"] and "PT24H" in problem["message"]
