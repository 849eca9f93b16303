"""Conformance sweep (issue 12 item 7, issue 13 "Done means"): what Camunda 7 deploys and runs deploys and runs
here (an exclusive gateway's flow without a condition, ``execution.setVariable``/``getVariable`` in JUEL), and
what is not executable even in Camunda (FEEL, XPath or prose conditions, Java beans, DMN decisions, timers
without a time, repeated ids) is refused with a located message saying what to write instead."""
from __future__ import annotations

import pytest

from test_bpmn_structure_notes import deployed, document, flow, notes_of, script, started

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def camunda_document(process_id: str, body: str) -> bytes:
    return document(process_id, body).replace(b'xmlns:xsi=', CAMUNDA.encode() + b' xmlns:xsi=', 1)


def refused(api, make_user, name: str, content: bytes) -> list[dict]:
    make_user("root", "admin")
    reply = api("post", "/definitions", data=content, content_type="application/xml",
                query_string={"filename": name})
    assert reply.status_code == 422, reply.json
    problems = reply.json["details"]["problems"]
    assert all(p["file"] == name and p["line"] for p in problems)
    return problems


GATEWAY = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="to_c"/>'
           + script("a", "took = 'a'") + script("b", "took = 'b'") + script("c", "took = 'c'")
           + '<bpmn:endEvent id="ea"/><bpmn:endEvent id="eb"/><bpmn:endEvent id="ec"/>'
           + flow("s", "gw", "f0") + flow("gw", "a", "to_a", "amount &gt; 100") + flow("gw", "b", "to_b")
           + flow("gw", "c", "to_c") + flow("a", "ea", "fa") + flow("b", "eb", "fb") + flow("c", "ec", "fc"))


@pytest.mark.parametrize("amount, took", [(500, "a"), (5, "b")])
def test_exclusive_gateway_flow_without_condition_counts_as_true_in_document_order(api, make_user, amount, took):
    reply = deployed(api, make_user, "gw_bare", GATEWAY)
    (note,) = [n for n in notes_of(reply) if n["element_id"] == "gw"]
    assert "to_b have no condition" in note["message"] and "as in Camunda" in note["message"]
    instance = started(api, "gw_bare", {"amount": amount})
    assert instance["status"] == "completed" and instance["data"]["took"] == took


def service(expression: str) -> str:
    return f'<bpmn:serviceTask id="svc" camunda:expression="{expression}"/>'


def test_execution_set_variable_in_a_service_task_writes_the_variable(api, make_user):
    body = ('<bpmn:startEvent id="s"/>' + service("${execution.setVariable('foo', amount + 1)}")
            + script("after", "seen = foo") + '<bpmn:endEvent id="e"/>'
            + flow("s", "svc", "f0") + flow("svc", "after", "f1") + flow("after", "e", "f2"))
    make_user("root", "admin")
    reply = api("post", "/definitions", data=camunda_document("set_var", body), content_type="application/xml",
                query_string={"filename": "set_var.bpmn"})
    assert reply.status_code in (200, 201), reply.json
    instance = started(api, "set_var", {"amount": 41})
    assert instance["status"] == "completed" and instance["data"]["foo"] == 42 and instance["data"]["seen"] == 42


def test_execution_get_variable_in_a_condition_reads_the_variable(api, make_user):
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw"/>' + script("big", "size = 'big'")
            + script("small", "size = 'small'") + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
            + flow("s", "gw", "f0") + flow("gw", "big", "to_big", "${execution.getVariable('amount') &gt; 100}")
            + flow("gw", "small", "to_small", "${execution.getVariable('amount') &lt;= 100}")
            + flow("big", "e1", "f1") + flow("small", "e2", "f2"))
    deployed(api, make_user, "get_var", body)
    assert started(api, "get_var", {"amount": 150})["data"]["size"] == "big"


def test_a_java_bean_method_is_refused_naming_the_bean_and_the_alternatives(api, make_user):
    body = ('<bpmn:startEvent id="s"/>' + service("${reservationService.reserveTable()}")
            + '<bpmn:endEvent id="e"/>' + flow("s", "svc", "f0") + flow("svc", "e", "f1"))
    (problem,) = refused(api, make_user, "bean.bpmn", camunda_document("bean", body))
    assert problem["element_id"] == "svc"
    assert "method 'reserveTable' of the Java bean 'reservationService'" in problem["message"]
    assert 'camunda:type="external"' in problem["message"] and "connector" in problem["message"]


def test_set_variable_in_a_condition_is_refused_saying_where_it_belongs(api, make_user):
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="f2"/><bpmn:endEvent id="e"/>'
            '<bpmn:endEvent id="e2"/>' + flow("s", "gw", "f0")
            + flow("gw", "e", "f1", "${execution.setVariable('a', 1)}") + flow("gw", "e2", "f2"))
    (problem,) = refused(api, make_user, "setcond.bpmn", document("setcond", body))
    assert problem["element_id"] == "f1" and "only as the whole expression of a service task" in problem["message"]


@pytest.mark.parametrize("condition, language", [
    ("= approved", "FEEL"), ("= some risk in riskLevels satisfies risk = &quot;red&quot;", "FEEL"),
    ("bpmn:getDataObject('approved')", "XPath"), ("Service Level == 'Premium'", "prose"),
])
def test_a_condition_not_executable_in_camunda_7_is_refused_saying_what_to_write(api, make_user, condition,
                                                                                  language):
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="f2"/><bpmn:endEvent id="e"/>'
            '<bpmn:endEvent id="e2"/>' + flow("s", "gw", "f0") + flow("gw", "e", "f1", condition)
            + flow("gw", "e2", "f2"))
    (problem,) = refused(api, make_user, "feel.bpmn", document("feel", body))
    assert problem["element_id"] == "f1" and f"written in {language}" in problem["message"]
    assert "not executable in Camunda 7 either" in problem["message"] and "${" in problem["message"]


def test_a_business_rule_task_is_refused_saying_dmn_is_not_evaluated(api, make_user):
    body = ('<bpmn:startEvent id="s"/><bpmn:businessRuleTask id="rules" name="Check" '
            'camunda:decisionRef="approval"/><bpmn:endEvent id="e"/>' + flow("s", "rules", "f0")
            + flow("rules", "e", "f1"))
    (problem,) = refused(api, make_user, "dmn.bpmn", camunda_document("dmn", body))
    assert problem["element_id"] == "rules" and "DMN decision 'approval'" in problem["message"]
    assert "script task" in problem["message"] and "external task" in problem["message"]


def test_a_timer_without_a_time_is_refused_as_in_camunda(api, make_user):
    body = ('<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition/>'
            '</bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>' + flow("s", "wait", "f0")
            + flow("wait", "e", "f1"))
    (problem,) = refused(api, make_user, "notime.bpmn", document("notime", body))
    assert problem["element_id"] == "wait" and "<timeDuration>PT1H</timeDuration>" in problem["message"]


def test_a_repeated_id_is_refused_naming_both_lines(api, make_user):
    body = ('<bpmn:startEvent id="s"/><bpmn:dataObject id="twice"/><bpmn:dataObject id="twice"/>'
            '<bpmn:endEvent id="e"/>' + flow("s", "e", "f0"))
    (problem,) = refused(api, make_user, "twice.bpmn", document("repeat", body))
    assert problem["element_id"] == "twice" and "used twice" in problem["message"]


def test_a_print_statement_in_a_script_does_nothing_and_is_noted(api, make_user):
    body = ('<bpmn:startEvent id="s"/>' + script("show", "total = 2\nprint(f'total {total}')\nif total:\n"
                                                  "    print('yes', total)\ndone = True")
            + '<bpmn:endEvent id="e"/>' + flow("s", "show", "f0") + flow("show", "e", "f1"))
    reply = deployed(api, make_user, "printing", body)
    (note,) = [n for n in notes_of(reply) if n["element_id"] == "show"]
    assert "print(...) on line(s) 2, 4" in note["message"] and "does nothing" in note["message"]
    instance = started(api, "printing", {})
    assert instance["status"] == "completed" and instance["data"]["done"] is True


def test_print_elsewhere_in_a_script_is_still_refused_by_the_sandbox(api, make_user):
    body = ('<bpmn:startEvent id="s"/>' + script("show", "shown = print") + '<bpmn:endEvent id="e"/>'
            + flow("s", "show", "f0") + flow("show", "e", "f1"))
    (problem,) = refused(api, make_user, "printed.bpmn", document("printed", body))
    assert problem["element_id"] == "show" and "print" in problem["message"]
