"""File fields of forms (issue 14 items 1 and 5): ``"type": "file"`` uploads attachments from the worklist's
forms; through the API the value references an attachment of the same instance (or one staged for a start);
required file fields are enforced; the refund's evidence is such a field, started with a photo on the page."""
from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.models import Attachment, HumanTask
from web_support import FORMS, REFUND, START_FORM, browser_as, web  # noqa: F401 (fixtures)

DATA = Path(__file__).resolve().parent / "data"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(120)
JPEG = b"\xff\xd8\xff\xe0" + bytes(120)


def upload(client, auth, path, user, *files):
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/api/v1" + path, headers=auth(user), data=data, content_type="multipart/form-data")


@pytest.fixture
def photo_approval(tmp_path, deploy, make_user):
    """approval.bpmn with a check form that requires photos (several) and takes one optional receipt (pdf)."""
    forms = tmp_path / "forms"
    shutil.copytree(DATA / "forms", forms)
    check = json.loads((forms / "approval_check.json").read_text(encoding="utf-8"))
    check["fields"] += [
        {"name": "photos", "type": "file", "multiple": True, "required": True, "accept": ["jpg", "png"],
         "label": {"zh": "货物照片", "en": "Photos of the goods"}},
        {"name": "receipt", "type": "file", "label": {"zh": "签收单", "en": "Receipt"}}]
    (forms / "approval_check.json").write_text(json.dumps(check, ensure_ascii=False), encoding="utf-8")
    deploy(DATA / "approval.bpmn", forms)
    make_user("cang", "warehouse")
    make_user("boss", "supervisor")
    return forms


def start_approval(client, auth) -> tuple[int, int]:
    started = client.post("/api/v1/instances", headers=auth("cang"), json={
        "process_id": "approval", "data": {"order_no": "A-1", "item": "T 恤", "amount": "10.00"}}).get_json()
    tasks = client.get(f"/api/v1/tasks?scope=all&instance_id={started['id']}", headers=auth("boss")).get_json()
    return started["id"], tasks[0]["id"]


def test_api_completes_with_references_to_attachments_of_the_instance(client, auth, photo_approval):
    instance_id, task_id = start_approval(client, auth)
    made = upload(client, auth, f"/tasks/{task_id}/attachments", "cang", ("a.jpg", JPEG), ("b.png", PNG)).get_json()
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=auth("cang"), json={"data": {
        "checked_qty": 1, "condition": "good", "photos": [{"attachment_id": m["id"]} for m in made]}})
    assert done.status_code == 200, done.get_json()
    data = client.get(f"/api/v1/instances/{instance_id}", headers=auth("boss")).get_json()["data"]
    assert data["photos"] == [{"attachment_id": made[0]["id"], "name": "a.jpg", "size": len(JPEG),
                               "sha256": hashlib.sha256(JPEG).hexdigest(), "content_type": "image/jpeg"},
                              {"attachment_id": made[1]["id"], "name": "b.png", "size": len(PNG),
                               "sha256": hashlib.sha256(PNG).hexdigest(), "content_type": "image/png"}]
    assert data["receipt"] is None


@pytest.mark.parametrize("photos, message", [
    (None, "required"), ([], "at least one"), ([{"attachment_id": 999999}], "not a file uploaded to this instance"),
    ({"attachment_id": 999999}, "not a file uploaded to this instance"),  # one reference alone: a list of one
    ([{"attachment_id": "x"}], "attachment_id"), (["a.jpg"], "attachment_id"),
])
def test_api_refuses_bad_or_missing_file_values_per_field(client, auth, photo_approval, photos, message):
    instance_id, task_id = start_approval(client, auth)
    data = {"checked_qty": 1, "condition": "good"}
    if photos is not None:
        data["photos"] = photos
    response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=auth("cang"), json={"data": data})
    assert response.status_code == 422, response.get_json()
    assert message.lower() in json.dumps(response.get_json()["details"]["photos"]).lower()


def test_api_refuses_an_attachment_of_another_instance(client, auth, photo_approval):
    first, first_task = start_approval(client, auth)
    second, second_task = start_approval(client, auth)
    [other] = upload(client, auth, f"/tasks/{first_task}/attachments", "cang", ("a.jpg", JPEG)).get_json()
    response = client.post(f"/api/v1/tasks/{second_task}/complete", headers=auth("cang"), json={"data": {
        "checked_qty": 1, "condition": "good", "photos": [{"attachment_id": other["id"]}]}})
    assert response.status_code == 422 and "photos" in response.get_json()["details"]


def test_a_start_takes_files_staged_by_the_same_user_only(client, auth, deploy, make_user):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    make_user("kefu2", "aftersales_cs")
    [staged] = upload(client, auth, "/attachments", "kefu", ("IMG_1.jpg", JPEG)).get_json()
    assert staged["instance_id"] is None
    data = {"order_no": "W-1", "buyer": "小王", "amount": "88.00", "shipping_fee": "8.00", "free_shipping": False,
            "goods_received": True, "quality_issue": True, "days_since_signed": 2, "reason": "开线",
            "evidence": [{"attachment_id": staged["id"]}]}
    refused = client.post("/api/v1/instances", headers=auth("kefu2"), json={"process_id": "refund", "data": data})
    assert refused.status_code == 422 and "evidence" in refused.get_json()["details"]
    started = client.post("/api/v1/instances", headers=auth("kefu"), json={"process_id": "refund", "data": data})
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    listed = client.get(f"/api/v1/instances/{instance_id}/attachments", headers=auth("kefu")).get_json()
    assert [(a["id"], a["name"]) for a in listed] == [(staged["id"], "IMG_1.jpg")]
    history = client.get(f"/api/v1/instances/{instance_id}/history", headers=auth("kefu")).get_json()
    assert [e["data"]["sha256"] for e in history if e["type"] == "attachment_added"] == [staged["sha256"]]
    again = client.post("/api/v1/instances", headers=auth("kefu"), json={"process_id": "refund", "data": data})
    assert again.status_code == 422  # bound to the first instance now


def test_a_form_with_a_bad_file_field_is_not_deployed(tmp_path, deploy):
    forms = tmp_path / "forms"
    shutil.copytree(DATA / "forms", forms)
    check = json.loads((forms / "approval_check.json").read_text(encoding="utf-8"))
    check["fields"].append({"name": "photos", "type": "file", "multiple": "yes", "accept": "jpg"})
    (forms / "approval_check.json").write_text(json.dumps(check), encoding="utf-8")
    with pytest.raises(Exception, match="multiple"):
        deploy(DATA / "approval.bpmn", forms)


def test_the_task_page_uploads_the_files_of_a_file_field(photo_approval, client, auth, browser_as, app):
    instance_id, task_id = start_approval(client, auth)
    cang = browser_as("cang")
    form = cang.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form and 'accept=".jpg,.png"' in form
    missing = cang.post(f"/tasks/{task_id}/complete", data={"checked_qty": "1", "condition": "good"},
                        content_type="multipart/form-data")
    assert missing.status_code == 422
    fake = cang.post(f"/tasks/{task_id}/complete", content_type="multipart/form-data", data={
        "checked_qty": "1", "condition": "good", "photos": (io.BytesIO(b"no image"), "fake.png")})
    page = fake.get_data(as_text=True)
    assert fake.status_code == 422 and "文件内容与文件名的类型不符" in page and 'value="1"' in page
    wrong_type = cang.post(f"/tasks/{task_id}/complete", content_type="multipart/form-data", data={
        "checked_qty": "1", "condition": "good", "photos": (io.BytesIO(b"%PDF-1.4"), "a.pdf")})
    assert wrong_type.status_code == 422 and "不接受这种类型的文件" in wrong_type.get_data(as_text=True)
    with app.extensions["liucheng_db"].session() as session:
        assert session.scalars(select(Attachment)).all() == []  # refused submissions store no file
    done = cang.post(f"/tasks/{task_id}/complete", content_type="multipart/form-data", data={
        "checked_qty": "1", "condition": "good",
        "photos": [(io.BytesIO(PNG), "货物1.png"), (io.BytesIO(JPEG), "货物2.jpg")]})
    assert done.status_code == 302, done.get_data(as_text=True)[-2000:]
    data = client.get(f"/api/v1/instances/{instance_id}", headers=auth("boss")).get_json()["data"]
    assert [p["name"] for p in data["photos"]] == ["货物1.png", "货物2.jpg"]
    with app.extensions["liucheng_db"].session() as session:
        assert {a.task_id for a in session.scalars(select(Attachment))} == {task_id}
    # the supervisor's task shows the photos as download links with a preview
    decide = session_task(app, instance_id)
    page = browser_as("boss").get(f"/tasks/{decide}").get_data(as_text=True)
    assert "货物1.png" in page and re.search(r'class="attachment-thumb" src="/attachments/\d+/thumbnail"', page)


def session_task(app, instance_id: int) -> int:
    with app.extensions["liucheng_db"].session() as session:
        return session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.status == "open")).one()


def test_refund_started_with_an_evidence_photo_through_the_page(web, deploy, make_user, browser_as, client, auth):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    kefu = browser_as("kefu")
    form = kefu.get("/start/refund").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'name="evidence"' in form and 'type="file"' in form
    started = kefu.post("/start/refund", content_type="multipart/form-data", data={
        **START_FORM, "goods_received": "true", "quality_issue": "true", "days_since_signed": "2",
        "evidence": [(io.BytesIO(JPEG), "袖口开线.jpg")]})
    assert started.status_code == 302, started.get_data(as_text=True)[-3000:]
    instance_id = int(started.headers["Location"].rsplit("/", 1)[1])
    data = client.get(f"/api/v1/instances/{instance_id}", headers=auth("kefu")).get_json()["data"]
    [photo] = data["evidence"]
    assert photo["name"] == "袖口开线.jpg" and photo["sha256"] == hashlib.sha256(JPEG).hexdigest()
    detail = kefu.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "袖口开线.jpg" in detail and f"/attachments/{photo['attachment_id']}" in detail
    download = kefu.get(f"/attachments/{photo['attachment_id']}")
    assert download.data == JPEG and "filename*=UTF-8''" in download.headers["Content-Disposition"]
    bad = kefu.post("/start/refund", content_type="multipart/form-data", data={
        **START_FORM, "evidence": [(io.BytesIO(JPEG), "clip.exe")]})
    assert bad.status_code == 422 and "不接受这种类型的文件" in bad.get_data(as_text=True)


def test_the_quality_check_keeps_the_application_evidence_and_adds_new_files(web, deploy, make_user, browser_as,
                                                                             client, auth):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    [staged] = upload(client, auth, "/attachments", "kefu", ("申请照片.jpg", JPEG)).get_json()
    started = client.post("/api/v1/instances", headers=auth("kefu"), json={"process_id": "refund", "data": {
        "order_no": "Q-1", "buyer": "小李", "amount": "99.00", "shipping_fee": "8.00", "free_shipping": False,
        "goods_received": True, "quality_issue": True, "days_since_signed": 2, "reason": "开线",
        "evidence": [{"attachment_id": staged["id"]}]}}).get_json()
    instance_id = started["id"]
    offer = session_task(web, instance_id)
    assert client.post(f"/api/v1/tasks/{offer}/claim", headers=auth("kefu")).status_code == 200
    assert client.post(f"/api/v1/tasks/{offer}/complete", headers=auth("kefu"), json={"data": {
        "real_reason": "开线", "exchange_instead": False}}).status_code == 200
    check = session_task(web, instance_id)
    kefu = browser_as("kefu")
    kefu.post(f"/tasks/{check}/claim")
    page = kefu.get(f"/tasks/{check}").get_data(as_text=True)
    assert f'<input type="hidden" name="evidence" value="{staged["id"]}">' in page and "申请照片.jpg" in page
    done = kefu.post(f"/tasks/{check}/complete", content_type="multipart/form-data", data={
        "evidence": [str(staged["id"]), (io.BytesIO(PNG), "补充照片.png")], "return_shipping_paid": "10.00"})
    assert done.status_code == 302, done.get_data(as_text=True)[-2000:]
    data = client.get(f"/api/v1/instances/{instance_id}", headers=auth("kefu")).get_json()["data"]
    assert [e["name"] for e in data["evidence"]] == ["申请照片.jpg", "补充照片.png"]


# -- the refund's data contract: evidence may be a text (``"text_allowed": true``) ------------------------------

def refund_application(**overrides) -> dict:
    data = {"order_no": "T-1", "buyer": "小李", "amount": "99.00", "shipping_fee": "8.00", "free_shipping": False,
            "goods_received": True, "quality_issue": True, "days_since_signed": 2, "reason": "开线"}
    return {**data, **overrides}


def test_api_start_takes_evidence_as_text_as_the_data_contract_says(client, auth, deploy, make_user):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    started = client.post("/api/v1/instances", headers=auth("kefu"), json={
        "process_id": "refund", "data": refund_application(evidence="IMG_2041.jpg")})
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    data = client.get(f"/api/v1/instances/{instance_id}", headers=auth("kefu")).get_json()["data"]
    assert data["evidence"] == "IMG_2041.jpg"
    assert client.get(f"/api/v1/instances/{instance_id}/attachments", headers=auth("kefu")).get_json() == []


@pytest.mark.parametrize("evidence, message", [
    (5, "file name or link as text"), (True, "file name or link as text"), ("   ", "1 to 1000 characters"),
    ("x" * 1001, "1 to 1000 characters"), ({"attachment_id": 1}, "not a file uploaded to this start"),
    (["IMG_1.jpg"], "attachment_id"),
])
def test_api_refuses_evidence_neither_text_nor_attachments(client, auth, deploy, make_user, evidence, message):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    refused = client.post("/api/v1/instances", headers=auth("kefu"), json={
        "process_id": "refund", "data": refund_application(evidence=evidence)})
    assert refused.status_code == 422, refused.get_json()
    assert message.lower() in json.dumps(refused.get_json()["details"]["evidence"]).lower()
    zh = client.post("/api/v1/instances", headers={**auth("kefu"), "Accept-Language": "zh-CN"}, json={
        "process_id": "refund", "data": refund_application(evidence=evidence)}).get_json()
    assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", json.dumps(zh["details"]["evidence"], ensure_ascii=False)
                         .replace("attachment_id", "").replace("POST /api/v1/tasks/<id>/attachments", ""))


def quality_check_of(web, client, auth, evidence) -> tuple[int, int]:
    """A quality refund started through the API with ``evidence``, at its quality check (claimed by kefu)."""
    started = client.post("/api/v1/instances", headers=auth("kefu"), json={
        "process_id": "refund", "data": refund_application(evidence=evidence)})
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    offer = session_task(web, instance_id)
    assert client.post(f"/api/v1/tasks/{offer}/claim", headers=auth("kefu")).status_code == 200
    assert client.post(f"/api/v1/tasks/{offer}/complete", headers=auth("kefu"), json={"data": {
        "real_reason": "开线", "exchange_instead": False}}).status_code == 200
    check = session_task(web, instance_id)
    assert client.post(f"/api/v1/tasks/{check}/claim", headers=auth("kefu")).status_code == 200
    return instance_id, check


def test_the_quality_check_takes_and_keeps_evidence_as_text(web, deploy, make_user, browser_as, client, auth):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    instance_id, check = quality_check_of(web, client, auth, "IMG_2041.jpg")
    done = client.post(f"/api/v1/tasks/{check}/complete", headers=auth("kefu"), json={"data": {
        "evidence": "IMG_2041.jpg, VID_2042.mp4", "return_shipping_paid": "10.00"}})
    assert done.status_code == 200, done.get_json()
    assert client.get(f"/api/v1/instances/{instance_id}", headers=auth("kefu")).get_json()["data"]["evidence"] \
        == "IMG_2041.jpg, VID_2042.mp4"
    # on the page: the text is shown and kept when no file is chosen
    instance_id, check = quality_check_of(web, client, auth, "IMG_2041.jpg")
    kefu = browser_as("kefu")
    page = kefu.get(f"/tasks/{check}").get_data(as_text=True)
    assert '<span class="file-text">IMG_2041.jpg</span>' in page
    assert '<input type="hidden" name="evidence:text" value="IMG_2041.jpg">' in page and 'type="file"' in page
    done = kefu.post(f"/tasks/{check}/complete", content_type="multipart/form-data", data={
        "evidence:text": "IMG_2041.jpg", "return_shipping_paid": "10.00"})
    assert done.status_code == 302, done.get_data(as_text=True)[-2000:]
    assert client.get(f"/api/v1/instances/{instance_id}", headers=auth("kefu")).get_json()["data"]["evidence"] \
        == "IMG_2041.jpg"
    detail = kefu.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "IMG_2041.jpg" in detail and "file-link" not in detail.split("IMG_2041.jpg")[0][-300:]


def test_files_chosen_on_the_page_replace_the_evidence_text(web, deploy, make_user, browser_as, client, auth):
    deploy(REFUND, FORMS)
    make_user("kefu", "aftersales_cs")
    instance_id, check = quality_check_of(web, client, auth, "IMG_2041.jpg")
    done = browser_as("kefu").post(f"/tasks/{check}/complete", content_type="multipart/form-data", data={
        "evidence:text": "IMG_2041.jpg", "evidence": [(io.BytesIO(JPEG), "袖口.jpg")], "return_shipping_paid": "10.00"})
    assert done.status_code == 302, done.get_data(as_text=True)[-2000:]
    [photo] = client.get(f"/api/v1/instances/{instance_id}", headers=auth("kefu")).get_json()["data"]["evidence"]
    assert photo["name"] == "袖口.jpg" and photo["sha256"] == hashlib.sha256(JPEG).hexdigest()


def test_a_file_field_whose_text_allowed_is_not_a_boolean_is_not_deployed(tmp_path, deploy):
    forms = tmp_path / "forms"
    shutil.copytree(DATA / "forms", forms)
    check = json.loads((forms / "approval_check.json").read_text(encoding="utf-8"))
    check["fields"].append({"name": "photos", "type": "file", "text_allowed": "yes"})
    (forms / "approval_check.json").write_text(json.dumps(check), encoding="utf-8")
    with pytest.raises(Exception, match="text_allowed"):
        deploy(DATA / "approval.bpmn", forms)


def test_a_file_field_without_text_allowed_still_refuses_text(client, auth, photo_approval):
    instance_id, task_id = start_approval(client, auth)
    response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=auth("cang"), json={"data": {
        "checked_qty": 1, "condition": "good", "photos": "a.jpg"}})
    assert response.status_code == 422 and response.get_json()["details"]["photos"] == ["Not a valid list."]


def test_one_reference_alone_on_a_field_of_several_files_is_a_list_of_one(client, auth, photo_approval):
    instance_id, task_id = start_approval(client, auth)
    [made] = upload(client, auth, f"/tasks/{task_id}/attachments", "cang", ("a.jpg", JPEG)).get_json()
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=auth("cang"), json={"data": {
        "checked_qty": 1, "condition": "good", "photos": {"attachment_id": made["id"]}}})
    assert done.status_code == 200, done.get_json()
    data = client.get(f"/api/v1/instances/{instance_id}", headers=auth("boss")).get_json()["data"]
    assert [p["name"] for p in data["photos"]] == ["a.jpg"]


def test_a_delegate_cannot_hand_files_back_on_the_page(photo_approval, client, auth, browser_as, make_user, app):
    make_user("cang2", "warehouse")
    instance_id, task_id = start_approval(client, auth)
    cang = browser_as("cang")
    assert cang.post(f"/tasks/{task_id}/claim").status_code == 302
    assert cang.post(f"/tasks/{task_id}/delegate", data={"user": "cang2"}).status_code == 302
    helper = browser_as("cang2")
    refused = helper.post(f"/tasks/{task_id}/resolve", content_type="multipart/form-data", data={
        "checked_qty": "3", "photos": (io.BytesIO(JPEG), "a.jpg")})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "交回任务时不能附带文件" in page and 'value="3"' in page
    with app.extensions["liucheng_db"].session() as session:
        assert session.scalars(select(Attachment)).all() == []
        assert session.get(HumanTask, task_id).delegation == "pending"
    resolved = helper.post(f"/tasks/{task_id}/resolve", content_type="multipart/form-data",
                           data={"checked_qty": "3"})
    assert resolved.status_code == 302
