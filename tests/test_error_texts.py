"""Engine refusals and deploy problems in the reader's language (issue 14): every message the engine
raises in the modules people meet, every problem and note the conformance corpus draws, and the refusals
of the API translate to Chinese with no English sentence left (ids, file names, variables and code stay);
the API keeps English unless ``Accept-Language`` prefers zh; the pages show Chinese."""
from __future__ import annotations

import ast
import importlib
import io
import re
from pathlib import Path

import pytest

from conftest import DATA, ROOT
from engine import error_texts, variable_index
from engine.errors import ValidationError
from test_conformance import CORPUS as SHARED_CORPUS  # $LIUCHENG_SHARED, ../shared or /work/shared
from web_support import browser_as, text, web  # noqa: F401 (fixtures)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}  # a Chinese browser
OWN_MODELS = sorted([*DATA.glob("*.bpmn"), *(ROOT / "processes").glob("*.bpmn")])  # the repository's own
CORPUS = sorted(SHARED_CORPUS.rglob("*.bpmn"))  # the public conformance corpus kept beside the checkout (may be absent)
needs_corpus = pytest.mark.skipif(not CORPUS, reason=f"the conformance corpus is not at {SHARED_CORPUS}")
MODULES = sorted({*(ROOT / "engine").glob("*.py"), *(ROOT / "engine" / "runtime").glob("*.py"),
                  *(ROOT / "engine" / "bpmn").glob("*.py")})  # every module that refuses (not the adapter's)
RAISING = {"EngineError", "DefinitionError", "NotFoundError", "PermissionDeniedError", "AuthenticationError",
           "ConflictError", "ValidationError", "FormValidationError", "ScriptError", "MessageRefusedError",
           "TooManyRequestsError", "Problem", "Note", "_note", "_problem"}
# what an interpolated value is at a raise site, where "x1" (any id or name) would not read as the engine writes it
SAMPLES = {
    ("checks.py", "what"): "evaluates the DMN decision 'Decide'",
    ("checks.py", "kind"): "compensation boundary event",
    ("checks.py", "label"): "Script task 'Calc'",
    ("checks.py", "where_to"): "Check (Task_check) to the deployment's default role",
    ("checks.py", "exc.message"): "Script 'import os' is refused: Line 1: import (use Decimal, date, datetime, "
                                  "timedelta directly) is not allowed in the sandbox. Fix the syntax; names starting "
                                  "with '_', import, print, try, with and class are not allowed in the sandbox.",
    ("expression_checks.py", "what"): "a cycle",
    ("expression_checks.py", "exc.message"): "JUEL column 3: the expression ends too early; check the operators and "
                                             "brackets (supported: == != < > <= >= && || ! empty + - * / % ?: and . [ ])",
    ("expression_checks.py", "exc"): "'61' is not a valid minute (from 0 to 59)",
    ("expression_checks.py", "advice"): "Write it as ${variable} or another JUEL expression of the supported subset.",
    ("expression_checks.py", "TIMER_FORMS[tag]"): "a duration such as PT24H, P3D or PT0S",
    ("service_checks.py", "exc.message"): "the expression is empty; write a condition such as ${amount > 100}",
    ("multi_instance.py", "expected"): "a process variable's name (items) or a JUEL expression (${order.items})",
    ("generated_forms.py", "text"): "The embedded form is not a form-js object with 'components'.",
    ("juel.py", "what"): "the expression ends too early",
    ("timer_cycles.py", "exc"): "'?' is in both day fields; give a day of month or a day of week",
    ("definitions.py", "which"): "version 2 of ",
    ("problems.py", "summary"): "a.bpmn:3 [Task_a]: This call activity names no process: set calledElement to the "
                                "id of the process to call (a process in this file or a deployed one).",
    ("problems.py", "more"): " (and 2 more)",
    ("steps.py", "reason"): "Task 3 does not exist",
    ("worklist.py", "verb.removesuffix('e')"): "complet",
    ("collaboration.py", "what"): "comments",
    ("forms.py", "field"): "Field 'amount'",
    ("forms.py", "problem.describe()"): "amount is bytes; store text instead (e.g. value.decode('utf-8'))",
    ("message_rules.py", "reason"): "Task 3 does not exist",
    ("timers.py", "message"): "Timer cycle: '61' is not a valid minute (from 0 to 59).",
    ("script_policy.py", "kind"): "Script",
    ("script_policy.py", "source.strip()[:80]"): "'x = 1'",
    ("script_policy.py", "'; '.join((e.rstrip('.') for e in errors))"): "Line 1: class is not allowed in the sandbox",
    ("script_policy.py", "where"): " on line 2",
    ("script_policy.py", "_hint(err, list(namespace) + list(SAFE_BUILTINS))"): "Fix the script or the task data it uses.",
    ("script_policy.py", "advice"): "Look for an endless loop",
    ("script_pool.py", "source.strip()[:80]"): "'x = 1'",
    ("variable_catalog.py", "what"): "Variable 'v' labels the choice 'a' otherwise in form 'b' than in form 'c', which "
                                     "owns it.",
}
STRIP = [re.compile(p) for p in (r"`[^`]*`", r"[$#]\{[^}]*\}", r"'[^']*'", r'"[^"]*"', r"<[^>]*>", r"\{[^}]*\}",
                                 r"\([^()]*[=/._][^()]*\)", r"[^\s：；:;,，（(]+ [^：；:;，（(]*?[（(][\w-]+[）)]")]
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")  # three English words in a row


def english_left(translated: str) -> list[str]:
    """English phrases left in a translation, once quoted names, code, expressions and ``name (id)`` are out."""
    for pattern in STRIP:
        translated = pattern.sub(" ", translated)
    return ENGLISH.findall(translated)


def assert_chinese(english: str, translated: str) -> None:
    assert not error_texts.untranslated(english), (english, error_texts.untranslated(english))
    assert re.search(r"[\u4e00-\u9fff]", translated) and not english_left(translated), (english, translated)


# -- every raise site ---------------------------------------------------------------------------

def raise_sites() -> list[tuple[str, str]]:
    """(``file:line``, a sample message) of every literal message raised in ``MODULES``."""
    found = []
    for path in MODULES:
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] in RAISING:
                for argument in node.args:
                    message = sample(argument, path.name, module)
                    if message and " " in message.strip() and len(message) > 15:
                        found.append((f"{path.relative_to(ROOT)}:{node.lineno}", message))
                        break
    return found


def sample(node: ast.AST, file: str, module) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = sample(node.left, file, module), sample(node.right, file, module)
        return None if left is None or right is None else left + right
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(value.value)
            continue
        source = ast.unparse(value.value)
        if (file, source) in SAMPLES:
            parts.append(SAMPLES[file, source])
        elif source.isupper() and hasattr(module, source):  # a module constant: its text
            spec = ast.unparse(value.format_spec)[2:-1] if value.format_spec else ""
            parts.append(format(getattr(module, source), spec))
        else:
            parts.append("completed" if "status" in source else "x1")
    return "".join(parts)


@pytest.mark.parametrize("site, message", raise_sites())
def test_every_message_the_engine_raises_translates(site, message):
    assert_chinese(message, error_texts.translate(message, "zh"))
    assert error_texts.translate(message, "en") == message


def detail_sites() -> list[tuple[str, str]]:
    """(``file:line``, a sample message) of every field message written as a one-item list (``{"field":
    ["Required."]}``, the API's ``details``) in ``MODULES``."""
    found = []
    for path in MODULES:
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.List) and len(node.elts) == 1:
                message = sample(node.elts[0], path.name, module)
                if message and message[:1].isupper() and message.endswith("."):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", message))
    return found


@pytest.mark.parametrize("site, message", detail_sites())
def test_every_field_message_of_the_details_translates(site, message):
    assert_chinese(message, error_texts.translate(message, "zh"))
    assert error_texts.translate(message, "en") == message


def test_the_detail_messages_of_issue_14s_modules_are_walked():
    files = {site.split(":")[0] for site, _ in detail_sites()}
    assert {"engine/delegation.py", "engine/saved_filters.py", "engine/comments.py", "engine/file_types.py",
            "engine/attachments.py", "engine/runtime/tasks.py", "engine/worklist.py"} <= files


BAD_FILTERS = ["", " ,", "amount_gt_abc,", "a_eq_1,,b_eq_2", "x\\", "x_zz", "_eq_1", "flag_gt_true",
               ",".join(["a_eq_1"] * (variable_index.MAX_CONDITIONS + 1)), "order_no_eq_A1001,amount"]


@pytest.mark.parametrize("expression", BAD_FILTERS)
def test_every_refusal_of_the_variables_filter_translates(expression):
    with pytest.raises(ValidationError) as refusal:
        variable_index.parse(expression)
    message = refusal.value.message
    assert_chinese(message, error_texts.translate(message, "zh"))
    for detail in refusal.value.details["variables"]:
        assert_chinese(detail, error_texts.translate(detail, "zh"))
    assert error_texts.translate(message, "en") == message


# -- the conformance corpus through the API ------------------------------------------------------

@pytest.fixture
def designer(make_user):
    make_user("root", "admin")


def test_every_problem_and_note_of_the_repositorys_models_reads_in_chinese(client, auth, designer):
    assert len(OWN_MODELS) > 20
    assert sum(check_deployment(client, auth, path) for path in OWN_MODELS) > 0  # problems and notes


@needs_corpus
def test_every_problem_and_note_of_the_corpus_reads_in_chinese(client, auth, designer):
    assert len(CORPUS) > 100
    assert sum(check_deployment(client, auth, path) for path in CORPUS) > 150  # problems and notes


def check_deployment(client, auth, path: Path) -> int:
    """``path`` deployed through the API: a refusal's problems in Chinese for a Chinese reader; notes too."""
    def deploy(language: str):
        return client.post("/api/v1/definitions", data=path.read_bytes(), content_type="application/xml",
                           query_string={"filename": path.name}, headers={**auth("root"), "Accept-Language": language})
    english = deploy("en")
    if english.status_code == 422:
        chinese = deploy("zh-CN,zh;q=0.9,en;q=0.5")
        assert english.json["message"].startswith("Cannot deploy: ")
        assert chinese.status_code == 422 and chinese.json["message"].startswith("无法部署：")
        pairs = list(zip(english.json["details"]["problems"], chinese.json["details"]["problems"]))
    else:
        assert english.status_code == 201, english.json
        pairs = [(n, {"message": error_texts.translate(n["message"], "zh")})
                 for deployed in english.json for n in deployed.get("notes", [])]
    for en, zh in pairs:
        assert_chinese(en["message"], zh["message"])
    return len(pairs)


def test_a_deploy_refusal_keeps_each_location_and_translates_each_problem():
    message = ("Cannot deploy: a.bpmn:12 [Task_a]: This call activity names no process: set calledElement to the id "
               "of the process to call (a process in this file or a deployed one).; b.bpmn:3: Not well-formed XML: "
               "expected '>'. Fix the XML syntax (export the diagram again from the modeler). (and 4 more)")
    translated = error_texts.translate(message, "zh")
    assert translated.startswith("无法部署：a.bpmn:12 [Task_a]：此调用活动未指定流程")
    assert "；b.bpmn:3：XML 格式错误：expected '>'。" in translated and translated.endswith("（另有 4 处）")


def test_an_unknown_sentence_stays_english_and_nothing_is_lost():
    message = "Task 7 does not exist. The moon is made of cheese."
    assert error_texts.translate(message, "zh") == "任务 7 不存在。The moon is made of cheese."
    assert error_texts.untranslated(message) == ["The moon is made of cheese."]


# -- refusals through the API and the pages -----------------------------------------------------

@pytest.fixture
def review(api, make_user, deploy, clock):
    """An instance of timers_interrupting at Task_review (warehouse); wang and li are warehouse staff."""
    for name, role in [("root", "admin"), ("wang", "warehouse"), ("li", "warehouse"), ("zhao", "supervisor"),
                       ("shop", "integrator")]:
        make_user(name, role)
    deploy(DATA / "timers_interrupting.bpmn")
    started = api("post", "/instances", json={"process_id": "timers_interrupting", "data": {"order_no": "A1"}})
    assert started.status_code == 201, started.json
    return started.json


def refused(client, auth, method: str, path: str, user: str, status: int, **kwargs) -> str:
    """The refusal in English (no Accept-Language) and in Chinese (a Chinese browser's header); the
    English message."""
    english = getattr(client, method)("/api/v1" + path, headers=auth(user), **kwargs)
    chinese = getattr(client, method)("/api/v1" + path, headers={**auth(user), **ZH}, **kwargs)
    assert english.status_code == chinese.status_code == status, (english.json, chinese.json)
    assert english.json["error"] == chinese.json["error"]
    assert not re.search(r"[\u4e00-\u9fff]", english.json["message"]), english.json
    assert_chinese(english.json["message"], chinese.json["message"])
    for key, messages in english.json["details"].items():
        if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
            for en, zh in zip(messages, chinese.json["details"][key]):
                assert_chinese(en, zh)
    return english.json["message"]


def test_refusals_of_the_api_are_english_by_default_and_chinese_for_a_chinese_reader(client, auth, api, review):
    task_id = review["open_tasks"][0]["id"]
    assert refused(client, auth, "get", "/tasks/999999", "root", 404) == "Task 999999 does not exist."
    refused(client, auth, "get", "/instances/999999", "root", 404)
    refused(client, auth, "get", "/tasks", "wang", 400, query_string={"scope": "everything"})
    refused(client, auth, "post", f"/instances/{review['id']}/cancel", "root", 422, json={"reason": " "})
    refused(client, auth, "post", "/incidents/999999/retry", "zhao", 404)
    assert api("post", f"/tasks/{task_id}/claim", "wang").status_code == 200
    assert "claimed by wang" in refused(client, auth, "post", f"/tasks/{task_id}/claim", "li", 409)
    refused(client, auth, "post", f"/tasks/{task_id}/complete", "li", 409, json={"data": {}})
    refused(client, auth, "post", f"/tasks/{task_id}/unclaim", "li", 403)
    refused(client, auth, "post", f"/tasks/{task_id}/reassign", "zhao", 400, json={"username": "nobody"})
    refused(client, auth, "post", f"/tasks/{task_id}/reassign", "zhao", 422, json={"user": "li"})  # no reason
    assert api("post", f"/tasks/{task_id}/complete", "wang", json={"data": {}}).status_code == 200
    assert refused(client, auth, "post", f"/tasks/{task_id}/complete", "wang", 409, json={"data": {}}) == \
        f"Task {task_id} is already completed; it cannot be completed."
    assert refused(client, auth, "post", f"/tasks/{task_id}/claim", "li", 409) == \
        f"Task {task_id} is already completed; it cannot be claimed."  # not "claimd"


def test_the_designers_page_shows_deploy_problems_and_notes_in_chinese(web, make_user, browser_as):
    make_user("guanli", "admin")
    client = browser_as("guanli")
    java = SHARED_CORPUS / "camunda-bpm-examples" / "retry-example.bpmn"
    if java.is_file():  # a corpus file (the part that needs the corpus kept beside the checkout)
        page = text(client.post("/admin/definitions", content_type="multipart/form-data",
                                data={"files": [(io.BytesIO(java.read_bytes()), java.name)]}))
        rows = re.findall(r'<tr class="problem">(.*?)</tr>', page, re.S)
        assert rows and any("指向 Java 代码" in row for row in rows)
        assert not any("names Java code" in row for row in rows)
    lanes = (DATA / "timers_interrupting.bpmn").read_bytes().replace(b'name="warehouse"', b'name="Boss"')
    page = text(client.post("/admin/definitions", content_type="multipart/form-data", follow_redirects=True,
                            data={"files": [(io.BytesIO(lanes), "lanes.bpmn")]}))
    assert "泳道 &#39;Boss&#39; 不是角色" in page and "is not a role" not in page


def test_a_refusal_on_the_task_page_reads_in_chinese(web, api, review, browser_as):
    task_id = review["open_tasks"][0]["id"]
    assert api("post", f"/tasks/{task_id}/claim", "wang").status_code == 200
    assert api("post", f"/tasks/{task_id}/complete", "wang", json={"data": {}}).status_code == 200
    page = text(browser_as("wang").post(f"/tasks/{task_id}/complete", data={}, follow_redirects=True))
    assert f"任务 {task_id} 已是「已完成」状态，不能再完成。" in page
    assert "already completed" not in page and "claimd" not in page
