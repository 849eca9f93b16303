"""Designers and admins: deploying BPMN with its forms, definitions and diagrams, users, incidents."""
from __future__ import annotations

import io
import re

from engine import incidents, runtime, users
from web_support import ROOT, browser_as, text, web  # noqa: F401 (fixtures)

DATA = ROOT / "tests" / "data"


def upload(client, *files: tuple[str, bytes]):
    return client.post("/admin/definitions", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(content), name) for name, content in files]})


def approval_files() -> list[tuple[str, bytes]]:
    files = [("approval.bpmn", (DATA / "approval.bpmn").read_bytes())]
    return files + [(p.name, p.read_bytes()) for p in sorted((DATA / "forms").glob("approval_*.json"))]


def test_a_broken_bpmn_is_refused_with_file_line_and_element(web, make_user, browser_as):
    make_user("guanli", "admin")
    response = upload(browser_as("guanli"), ("broken.bpmn", (DATA / "broken.bpmn").read_bytes()))
    page = text(response)
    assert response.status_code == 422 and "未部署任何内容" in page
    row = re.search(r'<tr class="problem">(.*?)</tr>', page, re.S).group(1)
    assert "broken.bpmn" in row and '<td class="line">12</td>' in row and "Task_orphan" in row
    assert "no_such_role" in row and "&lt;bpmn:userTask id=&#34;Task_orphan&#34;" in row  # the line, escaped


def test_xml_and_form_syntax_errors_are_located(web, make_user, browser_as):
    make_user("guanli", "admin")
    client = browser_as("guanli")
    page = text(upload(client, ("bad.bpmn", b"<?xml version='1.0'?>\n<bpmn:definitions>\n<oops></bpmn:definitions>")))
    assert "bad.bpmn" in page and "XML 格式错误" in page  # the engine's problem in Chinese (issue 14)
    files = approval_files()
    files[1] = (files[1][0], b'{\n  "fields": [\n    {"name": }\n  ]\n}')
    page = text(upload(client, *files))
    assert files[1][0] in page and '<td class="line">3</td>' in page and "JSON" in page
    page = text(upload(client, ("notes.txt", b"hello")))
    assert "notes.txt" in page and "只能上传" in page
    assert "请至少选择一个" in text(upload(client, *files[1:2]))


def test_deploying_bpmn_with_forms_creates_versions(web, make_user, browser_as):
    make_user("guanli", "admin")
    client = browser_as("guanli")
    deployed = upload(client, *approval_files())
    assert deployed.status_code == 302 and deployed.headers["Location"] == "/admin/definitions"
    page = text(client.get("/admin/definitions"))
    assert "已部署 approval 第 1 版" in page and 'data-process="approval"' in page and "审批 (test)" in page
    upload(client, *approval_files())
    assert "approval 没有变化（仍为第 1 版）" in text(client.get("/admin/definitions"))
    changed = approval_files()
    changed[0] = (changed[0][0], changed[0][1].replace("检查货物".encode(), "检查货物和单据".encode()))
    upload(client, *changed)
    page = text(client.get("/admin/definitions"))
    assert "已部署 approval 第 2 版" in page and ">v2<" in page and ">v1<" in page
    detail = text(client.get("/admin/definitions/approval?version=1"))
    assert "<svg" in detail and "检查货物" in detail and "检查货物和单据" not in detail
    assert "approval_check" in detail and "仓管" in detail
    latest = text(client.get("/admin/definitions/approval"))
    assert "检查货物和单据" in latest and 'class="badge version current">v2<' in latest
    xml = client.get("/admin/definitions/approval/1/bpmn")
    assert xml.mimetype == "application/octet-stream" and b"approval" in xml.data
    assert client.get("/admin/definitions/approval?version=9").status_code == 404


def test_admins_create_and_edit_users_roles_and_attributes(web, make_user, browser_as):
    make_user("guanli", "admin")
    client = browser_as("guanli")
    created = client.post("/admin/users/", data={"username": "pm_li", "display_name": "李经理", "password": "pw-1234",
                                                 "roles": ["pm", "operations"], "attributes": "categories=家电,数码"})
    assert created.status_code == 302
    page = text(client.get("/admin/users/"))
    assert "pm_li" in page and "李经理" in page and "categories=家电,数码" in page and "PM 商户服务经理" in page
    assert text(client.post("/admin/users/", data={"username": "pm_li", "password": "pw-1234"})).count("已存在")
    bad = client.post("/admin/users/", data={"username": "x", "password": "pw-1234", "roles": ["wizard"],
                                             "attributes": "no pair here"})
    assert bad.status_code == 422 and "未知角色" in text(bad) and "每行写一个" in text(bad)
    edit = text(client.get("/admin/users/pm_li"))
    assert 'value="pm" checked' in edit and "categories=家电,数码" in edit
    saved = client.post("/admin/users/pm_li", data={"display_name": "李经理", "active": "on", "roles": ["pm"],
                                                    "attributes": "categories=家电\nregion=华东", "password": "new-pass"})
    assert saved.status_code == 302
    with web.extensions["liucheng_db"].session() as session:
        user = users.get_user(session, "pm_li")
        assert user.roles == {"pm"} and user.attribute("categories") == "家电" and user.attribute("region") == "华东"
        users.authenticate(session, "pm_li", "new-pass")
    client.post("/admin/users/pm_li", data={"display_name": "李经理", "roles": ["pm"], "attributes": ""})
    with web.extensions["liucheng_db"].session() as session:
        user = users.get_user(session, "pm_li")
        assert not user.active and user.attributes == []
    refused = client.post("/admin/users/guanli", data={"roles": ["auditor"], "active": "on"})
    assert refused.status_code == 422 and "不能移除自己的管理员角色" in text(refused)
    assert client.get("/admin/users/nobody").status_code == 404


def test_a_refused_user_change_shows_every_problem_and_changes_nothing(web, make_user, browser_as):
    make_user("guanli", "admin")
    make_user("pm_wang", "pm")
    client = browser_as("guanli")
    refused = client.post("/admin/users/pm_wang", data={"display_name": "王", "active": "on", "roles": ["finance"],
                                                       "attributes": "not a pair", "password": "abc"})
    page = text(refused)
    assert refused.status_code == 422 and "密码至少需要 4 个字符" in page and "每行写一个" in page
    with web.extensions["liucheng_db"].session() as session:
        assert users.get_user(session, "pm_wang").roles == {"pm"}


def test_incidents_are_listed_retried_and_resolved(web, deploy, make_user, browser_as, monkeypatch, clock):
    monkeypatch.setattr(incidents, "MAX_ATTEMPTS", 1)
    deploy(DATA / "incidents_script_error.bpmn")
    make_user("cangku", "warehouse")
    make_user("zhuguan", "supervisor")
    with web.extensions["liucheng_db"].session() as session:
        instance = runtime.start_instance(session, "incidents_script_error", {"total": 1, "quantity": 0},
                                          users.get_user(session, "cangku"))
    client = browser_as("zhuguan")
    page = text(client.get("/incidents/"))
    incident_id = int(re.search(r'data-incident-id="(\d+)"', page).group(1))
    assert "Script_compute" in page and f"#{instance.id}" in page and "division by zero" in page
    retried = client.post(f"/incidents/{incident_id}/retry", data={"next": "/incidents/?status=all"})
    assert retried.headers["Location"] == "/incidents/?status=all"
    assert f"故障 {incident_id}" in text(client.get("/incidents/?status=all"))
    if text(client.get("/incidents/?status=open")).count("data-incident-id"):
        assert "请说明故障是如何解决的" in text(client.post(f"/incidents/{incident_id}/resolve", data={"comment": ""},
                                             follow_redirects=True))
        client.post(f"/incidents/{incident_id}/resolve", data={"comment": "已人工处理"})
        assert "已人工处理" in text(client.get("/incidents/?status=resolved"))
    assert "data-incident-id" not in text(client.get("/incidents/?status=open"))


def test_a_designer_uploads_definitions_but_manages_no_users(client, make_user, auth, browser_as):
    make_user("sheji", "designer")
    make_user("wang", "warehouse")
    loop = (DATA / "loop.bpmn").read_bytes()
    as_xml = {"Content-Type": "application/xml"}
    refused = client.post("/api/v1/definitions?filename=loop.bpmn", data=loop, headers={**auth("wang"), **as_xml})
    assert refused.status_code == 403
    upload = client.post("/api/v1/definitions?filename=loop.bpmn", data=loop, headers={**auth("sheji"), **as_xml})
    assert upload.status_code == 201, upload.get_json()
    page = browser_as("sheji")
    assert page.get("/admin/definitions").status_code == 200
    assert page.get("/admin/users/").status_code == 403
