"""BPMN files in other encodings (issue 10, point 10): a UTF-16 file (with a byte-order mark, or
without one but with encoding="UTF-16" in its XML declaration) deploys and is stored as UTF-8; a file
whose bytes do not match the encoding it declares is refused with a message about the encoding."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import DATA
from engine.models import Definition
from webui.cli import main

SOURCE = (DATA / "messages_wait.bpmn").read_text(encoding="utf-8")
UTF16_SOURCE = SOURCE.replace('encoding="UTF-8"', 'encoding="UTF-16"')


def upload(client, auth, content: bytes, filename: str = "wait.bpmn"):
    return client.post(f"/api/v1/definitions?filename={filename}", data=content,
                       headers={**auth("dora"), "Content-Type": "application/xml"})


def stored(db_session) -> list[Definition]:
    rows = db_session.scalars(select(Definition).order_by(Definition.id)).all()
    db_session.rollback()
    return rows


def test_utf16_variants_deploy_through_the_api_and_are_stored_as_utf8(client, auth, make_user, db_session):
    make_user("dora", "designer")
    make_user("chen", "aftersales_cs")
    variants = {
        "bom-le-declared": UTF16_SOURCE.encode("utf-16"),                       # BOM + encoding="UTF-16"
        "bom-be-declared": b"\xfe\xff" + UTF16_SOURCE.encode("utf-16-be"),
        "no-bom-declared": UTF16_SOURCE.encode("utf-16-le"),                    # declaration only
        "bom-no-declaration": SOURCE.split("?>", 1)[1].lstrip().encode("utf-16"),  # BOM only
    }
    statuses = {}
    for label, content in variants.items():
        response = upload(client, auth, content, f"{label}.bpmn")
        assert response.status_code == 201, (label, response.get_json())
        statuses[label] = response.get_json()[0]["status"]
    # the same document whatever its encoding on disk: one version (the one without a declaration differs)
    assert statuses == {"bom-le-declared": "created", "bom-be-declared": "unchanged", "no-bom-declared": "unchanged",
                        "bom-no-declaration": "created"}
    assert [row.process_id for row in stored(db_session)] == ["messages_wait", "messages_wait"]
    assert "等待撤单" in stored(db_session)[1].bpmn_xml
    xml = client.get("/api/v1/definitions/messages_wait/xml?version=1", headers=auth("dora"))
    assert xml.status_code == 200
    text = xml.get_data(as_text=True)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>') and "等待撤单" in text and "\ufeff" not in text
    started = client.post("/api/v1/instances", json={"process_id": "messages_wait", "data": {"order_no": "E-1"}},
                          headers=auth("chen"))
    assert started.status_code == 201, started.get_json()


def test_a_utf8_and_a_utf16_copy_of_one_model_are_one_version(client, auth, make_user, db_session):
    make_user("dora", "designer")
    assert upload(client, auth, SOURCE.encode("utf-8")).get_json()[0]["status"] == "created"
    again = upload(client, auth, UTF16_SOURCE.encode("utf-16"))
    assert again.status_code == 201 and again.get_json()[0]["status"] == "unchanged"
    assert len(stored(db_session)) == 1


def test_liucheng_deploy_reads_a_utf16_file(database_url, tmp_path, db_session):
    path = tmp_path / "wait.bpmn"
    path.write_bytes(UTF16_SOURCE.encode("utf-16"))
    result = CliRunner().invoke(main, ["--database", database_url, "deploy", str(path)])
    assert result.exit_code == 0, result.output
    (row,) = stored(db_session)
    assert row.process_id == "messages_wait" and row.name == "等待撤单 (test)"
    assert 'encoding="UTF-8"' in row.bpmn_xml.splitlines()[0]


def test_a_gbk_file_that_says_so_deploys(client, auth, make_user, db_session):
    make_user("dora", "designer")
    content = SOURCE.replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")
    response = upload(client, auth, content)
    assert response.status_code == 201, response.get_json()
    assert stored(db_session)[0].name == "等待撤单 (test)"


def test_bytes_that_do_not_match_the_declared_encoding_are_refused_about_the_encoding(client, auth, make_user,
                                                                                     db_session):
    make_user("dora", "designer")
    cases = {
        "utf8-says-utf16": UTF16_SOURCE.encode("utf-8"),
        "gbk-says-utf8": SOURCE.encode("gbk"),
        "unknown-encoding": SOURCE.replace('encoding="UTF-8"', 'encoding="x-klingon"').encode("utf-8"),
    }
    for label, content in cases.items():
        response = upload(client, auth, content, f"{label}.bpmn")
        assert response.status_code == 422, (label, response.get_json())
        body = response.get_json()
        (problem,) = body["details"]["problems"]
        assert problem["file"] == f"{label}.bpmn"
        assert "encoding" in problem["message"].lower() or "not valid utf-8" in problem["message"].lower(), problem
        assert "UTF-8" in problem["message"] and "SpiffWorkflow" not in body["message"]
    assert db_session.scalar(select(func.count()).select_from(Definition)) == 0


def test_liucheng_deploy_refuses_a_mislabelled_file_with_the_encoding_problem(database_url, tmp_path, db_session):
    path = tmp_path / "mislabelled.bpmn"
    path.write_bytes(UTF16_SOURCE.encode("utf-8"))
    result = CliRunner().invoke(main, ["--database", database_url, "deploy", str(path)])
    assert result.exit_code != 0
    assert 'encoding="UTF-16"' in result.output and "SpiffWorkflow" not in result.output
    assert stored(db_session) == []


def test_utf16_without_a_byte_order_mark_or_declaration_deploys_and_nul_bytes_are_an_encoding_error(
        client, auth, make_user, db_session):
    make_user("dora", "designer")
    body = SOURCE.split("?>", 1)[1].lstrip()  # starts with <bpmn:definitions
    for label, content in {"le": body.encode("utf-16-le"), "be": body.encode("utf-16-be")}.items():
        response = upload(client, auth, content, f"{label}.bpmn")
        assert response.status_code == 201, (label, response.get_json())
    assert stored(db_session)[0].name == "等待撤单 (test)"
    ascii_only = body.replace("等待撤单", "wait").encode("utf-16-le")[2:]  # not even a '<' first: NULs in it
    response = upload(client, auth, ascii_only, "nul.bpmn")
    assert response.status_code == 422, response.get_json()
    (problem,) = response.get_json()["details"]["problems"]
    assert "NUL" in problem["message"] and "UTF-16" in problem["message"] and "UTF-8" in problem["message"]
