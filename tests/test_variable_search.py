"""Search by data (issue 14, item 7): ``GET /api/v1/instances?variables=...`` and ``GET /api/v1/tasks?variables=...``
with Camunda 7's ``name_op_value`` conditions (eq neq gt gteq lt lteq like, comma-separated, all must hold),
typed values, backslash escapes, a 400 naming the bad part, only what the user may see, and the index kept
with each step (task completion, script, message, start; only the variables that changed)."""
from __future__ import annotations

import subprocess
import sys
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from alembic import command as alembic_command

from conftest import DATA, ROOT
from engine import runtime
from engine.database import alembic_config
from engine.models import InstanceVariable

PROCESS = "variable_search"


@pytest.fixture
def database(app):
    return app.extensions["liucheng_db"]


@pytest.fixture
def start(api, make_user, deploy, clock):
    """root: admin; chen: aftersales_cs (the process's lane); wang: warehouse; shop: integrator."""
    for name, role in [("root", "admin"), ("chen", "aftersales_cs"), ("wang", "warehouse"), ("shop", "integrator")]:
        make_user(name, role)
    deploy(DATA / "variable_search.bpmn")

    def run(data: dict, user: str = "root") -> int:
        response = api("post", "/instances", user, json={"process_id": PROCESS, "data": data})
        assert response.status_code == 201, response.json
        return response.json["id"]
    return run


@pytest.fixture
def orders(start):
    """Three orders; their ids by order number."""
    return {"A1001": start({"order_no": "A1001", "amount": 150, "urgent": True, "buyer": "Zhang_San", "note": "a,b"}),
            "A1002": start({"order_no": "A1002", "amount": 80.5, "urgent": False, "buyer": "李四", "note": "x"}),
            "B2001": start({"order_no": "B2001", "amount": 100, "urgent": False, "buyer": "wang wu",
                            "tags": ["a"], "extra": {"k": 1}, "price": "99.90"})}


def found(api, expression: str, user: str = "root") -> list[int]:
    response = api("get", f"/instances?variables={quote(expression)}", user)
    assert response.status_code == 200, response.json
    return sorted(row["id"] for row in response.json)


def tasks(api, expression: str, user: str = "chen", scope: str = "claimable") -> list[int]:
    response = api("get", f"/tasks?scope={scope}&variables={quote(expression)}", user)
    assert response.status_code == 200, response.json
    return sorted(row["instance_id"] for row in response.json)


def ids(orders, *names) -> list[int]:
    return sorted(orders[name] for name in names)


def complete(api, instance_id: int, data: dict, user: str = "chen") -> None:
    (task,) = api("get", f"/instances/{instance_id}").json["open_tasks"]
    assert api("post", f"/tasks/{task['id']}/claim", user).status_code == 200
    response = api("post", f"/tasks/{task['id']}/complete", user, json={"data": data})
    assert response.status_code == 200, response.json


# -- operators, on the instance list and the worklist ------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("order_no_eq_A1001", ["A1001"]),
    ("order_no_neq_A1001", ["A1002", "B2001"]),
    ("amount_gt_100", ["A1001"]),
    ("amount_gteq_100", ["A1001", "B2001"]),
    ("amount_lt_100", ["A1002"]),
    ("amount_lteq_100", ["A1002", "B2001"]),
    ("order_no_like_A%", ["A1001", "A1002"]),
    ("order_no_gt_A1001", ["A1002", "B2001"]),  # text compares as text
    ("amount_eq_80.5", ["A1002"]),
    ("urgent_eq_true", ["A1001"]),
    ("urgent_neq_true", ["A1002", "B2001"]),
    ("order_no_like_a100%,amount_gt_100", ["A1001"]),  # ALL must hold; like ignores case
    ("order_no_eq_A1001,amount_lt_100", []),
])
def test_each_operator_on_the_instance_list_and_the_worklist(api, orders, expression, expected):
    assert found(api, expression) == ids(orders, *expected)
    assert tasks(api, expression) == ids(orders, *expected)


def test_numbers_compare_as_numbers_and_text_holding_a_number_too(api, orders):
    assert found(api, "amount_gt_9") == ids(orders, "A1001", "A1002", "B2001")  # 80.5 > 9, not "80.5" < "9"
    assert found(api, "amount_eq_150.0") == ids(orders, "A1001")
    assert found(api, "amount_eq_1.5e2") == ids(orders, "A1001")
    assert found(api, "price_gt_99.5") == ids(orders, "B2001")  # "99.90" as money text
    assert found(api, "price_eq_99.90") == ids(orders, "B2001")
    assert found(api, "amount_eq_abc") == []  # a text value never equals a number variable
    assert found(api, "urgent_eq_1") == []  # nor a boolean a number
    assert found(api, "buyer_neq_5") == ids(orders, "A1001", "A1002", "B2001")  # text differs from any number
    assert found(api, "urgent_neq_1") == ids(orders, "A1001", "A1002", "B2001")


def test_a_long_number_kept_as_text_is_found_by_its_text(api, start):
    taobao = start({"order_no": "4012345678901234567"})  # 19 digits: too long to keep as a number
    assert found(api, "order_no_eq_4012345678901234567") == [taobao]
    assert found(api, "order_no_neq_4012345678901234567") == []


def test_a_like_takes_percent_as_wildcard_and_underscore_literally(api, orders):
    assert found(api, "buyer_like_%san") == ids(orders, "A1001")
    assert found(api, "buyer_like_zhang_san") == ids(orders, "A1001")  # the value holds '_' unescaped
    assert found(api, "buyer_like_zhang%san") == ids(orders, "A1001")
    assert found(api, "buyer_like_zhangxsan") == []  # '_' is not a one-character wildcard
    assert found(api, "buyer_like_李%") == ids(orders, "A1002")
    assert found(api, "buyer_like_%") == ids(orders, "A1001", "A1002", "B2001")


def test_escapes_a_comma_in_a_value_and_an_underscore_in_a_name(api, start, orders):
    assert found(api, r"note_eq_a\,b") == ids(orders, "A1001")
    assert found(api, r"note_eq_a\,b,order_no_eq_A1001") == ids(orders, "A1001")
    odd = start({"price_lt_cap": "yes", "path": "c:\\tmp"})
    assert found(api, r"price\_lt\_cap_eq_yes") == [odd]
    assert found(api, r"path_eq_c:\\tmp") == [odd]


def test_lists_objects_and_unknown_variables_match_nothing(api, orders):
    assert found(api, "tags_eq_a") == []
    assert found(api, "extra_like_%") == []
    assert found(api, "nobody_neq_x") == []  # neq needs the variable, as in Camunda


def test_the_filter_joins_the_other_filters_and_the_tasks_scopes(api, orders):
    assert found(api, "amount_gteq_100") == ids(orders, "A1001", "B2001")
    response = api("get", f"/instances?status=completed&variables={quote('amount_gteq_100')}")
    assert response.status_code == 200 and response.json == []
    assert tasks(api, "amount_gteq_100", scope="mine") == []
    complete_claim = api("get", f"/instances/{orders['A1001']}").json["open_tasks"][0]
    assert api("post", f"/tasks/{complete_claim['id']}/claim", "chen").status_code == 200
    assert tasks(api, "amount_gteq_100", scope="mine") == ids(orders, "A1001")
    assert tasks(api, "amount_gteq_100", scope="claimable") == ids(orders, "B2001")


# -- bad input --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, says", [
    ("order_no", "has no operator"),
    ("order_no_is_A1001", "has no operator"),
    ("_eq_A1001", "has no variable name"),
    ("order_no_eq_A1001,", "is empty"),
    ("order_no_eq_A1001,,amount_gt_1", "Condition 2 of the variables filter is empty"),
    ("urgent_gt_true", "compares a boolean with 'gt'"),
    ("note_eq_a\\", "lone backslash"),
    (",".join(["amount_gt_1"] * 21), "at most 20"),
])
def test_a_bad_expression_is_400_naming_the_part_and_the_fix(api, orders, expression, says):
    for path in ("/instances", "/tasks"):
        response = api("get", f"{path}?variables={quote(expression)}", "chen")
        assert response.status_code == 400, response.json
        assert says in response.json["message"]
        assert "name_op_value" in response.json["message"] or "use " in response.json["message"] \
            or "remove" in response.json["message"] or "backslash" in response.json["message"]


def test_a_bad_expression_changes_nothing(api, orders, database):
    before = rows(database)
    assert api("get", "/instances?variables=amount_gt", "root").status_code == 400
    assert rows(database) == before


# -- who sees what ------------------------------------------------------------------------------------------

def test_only_the_instances_and_tasks_the_user_may_see(api, start, orders):
    mine = start({"order_no": "A1001", "amount": 150}, user="shop")  # an integrator started another A1001
    assert found(api, "order_no_eq_A1001", "root") == sorted([orders["A1001"], mine])
    assert found(api, "order_no_eq_A1001", "chen") == sorted([orders["A1001"], mine])  # lane role: tasks of theirs
    assert found(api, "order_no_eq_A1001", "wang") == []  # warehouse has no task and started none
    assert tasks(api, "order_no_eq_A1001", "wang") == []
    assert tasks(api, "order_no_eq_A1001", "wang", scope="all") == []


# -- the index follows each step -------------------------------------------------------------------------

def test_a_task_completion_a_script_and_a_message_are_found_by_the_new_value(api, orders):
    order = orders["A1002"]
    complete(api, order, {"checked": True, "buyer": "王五", "order_no": "A1002"})  # then the script doubles amount
    assert found(api, "buyer_eq_王五") == [order]
    assert found(api, "buyer_eq_李四") == []
    assert found(api, "amount_eq_161") == [order]
    assert found(api, "amount_eq_80.5") == []
    assert found(api, "stage_eq_scripted") == [order]
    assert found(api, "checked_eq_true") == [order]
    reply = api("post", "/messages", "shop", json={"name": "payment_confirmed", "correlation": {"order_no": "A1002"},
                                                  "data": {"paid": 161, "stage": "paid"}})
    assert reply.status_code == 200 and reply.json["instance_ids"] == [order], reply.json
    assert found(api, "stage_eq_paid") == [order]
    assert found(api, "stage_eq_scripted") == []
    assert found(api, "paid_gteq_161") == [order]
    assert tasks(api, "stage_eq_paid") == [order]


def test_a_step_after_the_cached_workflow_is_gone_compares_with_the_stored_rows(api, orders):
    runtime.forget()  # as after a restart: the step reads the instance's rows to know what changed
    order = orders["A1002"]
    complete(api, order, {"buyer": "赵六", "checked": True})
    assert found(api, "buyer_eq_赵六") == [order] and found(api, "buyer_eq_李四") == []
    assert found(api, "amount_eq_161") == [order] and found(api, "checked_eq_true") == [order]
    assert found(api, "order_no_eq_A1002") == [order]


def test_a_variable_set_to_a_list_leaves_the_index(api, orders, database):
    order = orders["A1001"]
    complete(api, order, {"note": ["now", "a list"]})
    assert found(api, r"note_eq_a\,b") == []
    assert found(api, "note_like_%") == ids(orders, "A1002")
    indexed = {name for name, instance_id in rows(database) if instance_id == order}
    assert indexed >= {"order_no", "amount", "urgent", "stage", "buyer"} and "note" not in indexed


def test_a_step_writes_only_the_variables_it_changed(api, orders, database):
    """A row of a variable no step changed is not rewritten: a step's cost does not grow with the data."""
    order = orders["B2001"]
    with database.session() as session, session.begin():
        session.execute(update(InstanceVariable).where(InstanceVariable.instance_id == order,
                                                       InstanceVariable.name == "buyer").values(text_value="stale"))
    complete(api, order, {"stage": "checked"})
    assert found(api, "buyer_eq_stale") == [order]  # unchanged by the step: left as it was
    assert found(api, "stage_eq_scripted") == [order]  # written by the step (the script after the task)
    assert found(api, "amount_eq_200") == [order]


def test_the_migration_indexes_the_instances_there_already(api, orders, database):
    before = stored(database)
    assert len(before) >= 14
    with database.engine.begin() as connection:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        alembic_command.downgrade(config, "0008")
        alembic_command.upgrade(config, "head")
    assert stored(database) == before
    assert found(api, "order_no_eq_A1001,amount_gt_100") == ids(orders, "A1001")


def stored(database) -> list[tuple]:
    with database.session() as session:
        return sorted(tuple(row) for row in session.execute(select(
            InstanceVariable.instance_id, InstanceVariable.name, InstanceVariable.kind, InstanceVariable.text_value,
            InstanceVariable.num_value)))


def rows(database) -> list[tuple[str, int]]:
    with database.session() as session:
        return sorted(session.execute(select(InstanceVariable.name, InstanceVariable.instance_id)).all())


def test_the_search_bench_runs():
    done = subprocess.run([sys.executable, "bench/variable_search_bench.py", "--instances", "300", "--repeats", "1",
                           "--url", "none"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "one order number" in done.stdout and "PostgreSQL" not in done.stdout
