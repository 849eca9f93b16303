"""Attachments (issue 14 item 5): upload to a task or an instance, list, download (Chinese names, nosniff),
size and type limits (extension and first bytes), sha256 in the history, LIUCHENG_FILES_DIR storage, who may,
and the pages' panel with image previews."""
from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

import pytest
from sqlalchemy import text

from engine import attachments, file_store, scheduler
from web_support import browser_as, refund_world, web  # noqa: F401 (fixtures)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(300)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(500)
PDF = b"%PDF-1.7\n" + bytes(100)


def upload(client, auth, path, user, *files):
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/api/v1" + path, headers=auth(user), data=data, content_type="multipart/form-data")


def test_upload_to_a_task_list_and_download(client, auth, refund_world):
    w = refund_world
    response = upload(client, auth, f"/tasks/{w.task_id}/attachments", "zhuguan", ("退货照片.png", PNG), ("单据.pdf", PDF))
    assert response.status_code == 201, response.get_json()
    photo, receipt = response.get_json()
    assert set(photo) == {"id", "instance_id", "task_id", "name", "content_type", "size", "sha256", "uploaded_by",
                          "at", "url"}
    assert photo["name"] == "退货照片.png" and photo["content_type"] == "image/png" and photo["size"] == len(PNG)
    assert photo["sha256"] == hashlib.sha256(PNG).hexdigest() and photo["uploaded_by"] == "zhuguan"
    assert photo["task_id"] == w.task_id and photo["instance_id"] == w.instance_id
    assert receipt["content_type"] == "application/pdf"
    listed = client.get(f"/api/v1/instances/{w.instance_id}/attachments", headers=auth("cangku")).get_json()
    assert [a["name"] for a in listed] == ["退货照片.png", "单据.pdf"]
    download = client.get(photo["url"], headers=auth("cangku"))
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote('退货照片.png')}" in disposition


def test_upload_to_an_instance(client, auth, refund_world):
    response = upload(client, auth, f"/instances/{refund_world.instance_id}/attachments", "kefu", ("VID_1.mp4", MP4))
    assert response.status_code == 201
    [video] = response.get_json()
    assert video["task_id"] is None and video["content_type"] == "video/mp4"


def test_checksum_is_recorded_in_the_history(client, auth, refund_world):
    w = refund_world
    [made] = upload(client, auth, f"/tasks/{w.task_id}/attachments", "zhuguan", ("a.jpg", JPEG)).get_json()
    history = client.get(f"/api/v1/instances/{w.instance_id}/history", headers=auth("zhuguan")).get_json()
    [event] = [e for e in history if e["type"] == "attachment_added"]
    assert event["actor"] == "zhuguan" and event["task_id"] == w.task_id
    assert event["data"] == {"attachment_id": made["id"], "name": "a.jpg", "size": len(JPEG),
                             "sha256": hashlib.sha256(JPEG).hexdigest(), "content_type": "image/jpeg"}


@pytest.mark.parametrize("name, content, reason", [
    ("fake.png", b"MZ\x90\x00 this is an exe" + bytes(50), "content"),
    ("photo.jpg", PNG, "content"),
    ("tool.exe", b"MZ" + bytes(50), "type"),
    ("page.html", b"<html><script>alert(1)</script>", "type"),
    ("image.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "type"),
    ("noextension", PNG, "type"),
])
def test_type_not_accepted_or_content_not_what_the_name_says(client, auth, refund_world, name, content, reason):
    w = refund_world
    response = upload(client, auth, f"/tasks/{w.task_id}/attachments", "zhuguan", (name, content))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["details"]["reason"] == reason
    assert client.get(f"/api/v1/instances/{w.instance_id}/attachments", headers=auth("zhuguan")).get_json() == []


def test_a_fake_png_is_refused_with_a_message(client, auth, refund_world):
    response = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan", ("证据.png", b"GIF89a" + bytes(9)))
    assert response.status_code == 422
    assert "not a real .png" in response.get_json()["message"]


def test_too_large_is_413_with_a_clear_error(client, auth, refund_world, monkeypatch, app):
    monkeypatch.setenv("LIUCHENG_MAX_UPLOAD_MB", "1")
    big = PNG + bytes(1024 * 1024)
    response = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan", ("big.png", big))
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "payload_too_large" and "1 MB" in body["message"] and body["details"]["max_mb"] == 1
    # a body over Flask's MAX_CONTENT_LENGTH is refused before it is read, with the same error
    app.config["MAX_CONTENT_LENGTH"] = 512 * 1024
    response = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan", ("big.png", big))
    assert response.status_code == 413 and response.get_json()["error"] == "payload_too_large"
    assert client.get(f"/api/v1/instances/{refund_world.instance_id}/attachments",
                      headers=auth("zhuguan")).get_json() == []


def test_names_are_cleaned(client, auth, refund_world):
    long_name = "长" * 300 + ".pdf"
    response = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan",
                      ("../../etc/pass\x07wd.txt", b"hello"), (long_name, PDF))
    first, second = response.get_json()
    assert first["name"] == "passwd.txt" and first["content_type"].startswith("text/plain")
    assert len(second["name"]) == 255 and second["name"].endswith(".pdf")


def test_files_dir_keeps_the_bytes_as_files_named_by_sha256(client, auth, refund_world, tmp_path, monkeypatch,
                                                            db_session):
    monkeypatch.setenv("LIUCHENG_FILES_DIR", str(tmp_path / "files"))
    [made] = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan", ("p.png", PNG)).get_json()
    stored = tmp_path / "files" / hashlib.sha256(PNG).hexdigest()
    assert stored.read_bytes() == PNG
    assert db_session.execute(text("SELECT content FROM attachments")).scalar_one() is None
    assert client.get(made["url"], headers=auth("zhuguan")).data == PNG


def test_who_may_upload_list_and_download(client, auth, refund_world, make_user):
    w = refund_world
    make_user("pmwang", "pm")
    [made] = upload(client, auth, f"/tasks/{w.task_id}/attachments", "zhuguan", ("a.png", PNG)).get_json()
    assert upload(client, auth, f"/tasks/{w.task_id}/attachments", "pmwang", ("a.png", PNG)).status_code == 403
    assert upload(client, auth, f"/instances/{w.instance_id}/attachments", "shenji", ("a.png", PNG)).status_code == 403
    assert client.get(made["url"], headers=auth("pmwang")).status_code == 403
    assert client.get(f"/api/v1/instances/{w.instance_id}/attachments", headers=auth("pmwang")).status_code == 403
    assert client.get(made["url"], headers=auth("shenji")).status_code == 200
    assert client.get("/api/v1/attachments/999999", headers=auth("zhuguan")).status_code == 404
    assert upload(client, auth, "/tasks/999999/attachments", "zhuguan", ("a.png", PNG)).status_code == 404


def test_upload_without_a_file_is_refused(client, auth, refund_world):
    response = client.post(f"/api/v1/tasks/{refund_world.task_id}/attachments", headers=auth("zhuguan"),
                           data={"other": "x"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "file" in response.get_json()["details"]
    response = client.post(f"/api/v1/tasks/{refund_world.task_id}/attachments", headers=auth("zhuguan"), json={})
    assert response.status_code == 415


def test_openapi_lists_the_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/tasks/{task_id}/comments", "/api/v1/instances/{instance_id}/comments",
                 "/api/v1/tasks/{task_id}/attachments", "/api/v1/instances/{instance_id}/attachments",
                 "/api/v1/attachments/{attachment_id}", "/api/v1/attachments"):
        assert path in paths, path
    assert "multipart/form-data" in paths["/api/v1/tasks/{task_id}/attachments"]["post"]["requestBody"]["content"]


def test_the_pages_upload_list_preview_and_download(refund_world, browser_as):
    w = refund_world
    boss = browser_as("zhuguan")
    response = boss.post(f"/tasks/{w.task_id}/attachments", data={"file": (io.BytesIO(PNG), "退货照片.png")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    page = boss.get(f"/tasks/{w.task_id}").get_data(as_text=True)
    assert "退货照片.png" in page and "已上传附件" in page
    page = boss.get(f"/instances/{w.instance_id}").get_data(as_text=True)
    assert "退货照片.png" in page and "attachment-thumb" in page and hashlib.sha256(PNG).hexdigest()[:12] in page
    assert 'enctype="multipart/form-data"' in page
    thumb = boss.get("/attachments/1/thumbnail")
    assert thumb.status_code == 200 and thumb.data == PNG and thumb.headers["Content-Disposition"].startswith("inline")
    download = boss.get("/attachments/1")
    assert download.data == PNG and download.headers["Content-Disposition"].startswith("attachment")
    fake = boss.post(f"/instances/{w.instance_id}/attachments", data={"file": (io.BytesIO(b"not png"), "x.png")},
                     content_type="multipart/form-data", follow_redirects=True)
    assert "文件内容与文件名的类型不符" in fake.get_data(as_text=True)


def test_the_page_flashes_a_file_too_large(refund_world, browser_as, monkeypatch):
    monkeypatch.setenv("LIUCHENG_MAX_UPLOAD_MB", "1")
    boss = browser_as("zhuguan")
    response = boss.post(f"/tasks/{refund_world.task_id}/attachments",
                         data={"file": (io.BytesIO(PNG + bytes(1024 * 1024)), "big.png")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "文件超过 1 MB" in response.get_data(as_text=True)


def test_auditor_page_has_no_upload_form(refund_world, browser_as):
    page = browser_as("shenji").get(f"/instances/{refund_world.instance_id}").get_data(as_text=True)
    assert 'id="attachments"' in page and 'id="attachment-file"' not in page


# -- review findings (issue 14): request limits, empty files, staged uploads -------------------------------

def test_one_request_takes_several_files_each_up_to_the_file_limit(client, auth, refund_world, monkeypatch, app):
    monkeypatch.setenv("LIUCHENG_MAX_UPLOAD_MB", "1")
    app.config["MAX_CONTENT_LENGTH"] = file_store.max_request_bytes()  # as create_app sets it: 10 files + 1 MB
    assert file_store.max_request_mb() == 11
    photos = [(f"p{i}.png", PNG + bytes(900 * 1024)) for i in range(3)]
    response = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan", *photos)
    assert response.status_code == 201 and len(response.get_json()) == 3
    one_too_big = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan",
                         ("ok.png", PNG), ("big.png", PNG + bytes(1024 * 1024)))
    assert one_too_big.status_code == 413 and "'big.png'" in one_too_big.get_json()["message"]


def test_the_default_request_limit_is_ten_files_worth(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 10 * file_store.max_upload_bytes() + 1024 * 1024


def test_an_api_body_over_the_limit_says_files_only_for_uploads(client, auth, refund_world, app):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    w = refund_world
    comment = client.post(f"/api/v1/instances/{w.instance_id}/comments", headers=auth("zhuguan"),
                          json={"text": "很长" * 40000})
    body = comment.get_json()
    assert comment.status_code == 413 and body["error"] == "payload_too_large"
    assert body["message"].startswith("The request body is larger than") and "file" not in body["details"]
    zh = client.post(f"/api/v1/instances/{w.instance_id}/comments", json={"text": "很长" * 40000},
                     headers={**auth("zhuguan"), "Accept-Language": "zh"}).get_json()
    assert zh["message"].startswith("请求内容超过")
    files = upload(client, auth, f"/tasks/{w.task_id}/attachments", "zhuguan", ("big.png", PNG + bytes(100 * 1024)))
    body = files.get_json()
    assert files.status_code == 413 and body["message"].startswith("The upload is larger than")
    assert body["details"]["reason"] == "size" and body["details"]["file"]


def test_a_page_upload_over_the_request_limit_comes_back_to_the_page_with_the_file_limit(refund_world, browser_as,
                                                                                        monkeypatch, web):
    monkeypatch.setenv("LIUCHENG_MAX_UPLOAD_MB", "1")
    web.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    boss = browser_as("zhuguan")
    task_page = f"http://localhost/tasks/{refund_world.task_id}"
    for action in (f"/tasks/{refund_world.task_id}/attachments", f"/tasks/{refund_world.task_id}/complete"):
        response = boss.post(action, data={"file": (io.BytesIO(PNG + bytes(100 * 1024)), "big.png")},
                             content_type="multipart/form-data", headers={"Referer": task_page})
        assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{refund_world.task_id}"
        page = boss.get(response.headers["Location"]).get_data(as_text=True)
        assert "每个文件最多 1 MB" in page and "合计最多 11 MB" in page, action
    # without a Referer: the task's page all the same
    response = boss.post(f"/tasks/{refund_world.task_id}/attachments", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(PNG + bytes(100 * 1024)), "big.png")})
    assert response.headers["Location"] == f"/tasks/{refund_world.task_id}"


def test_an_empty_file_is_refused(client, auth, refund_world, browser_as):
    response = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan", ("空.png", b""))
    assert response.status_code == 400 and "is empty (0 bytes)" in response.get_json()["message"]
    staged = upload(client, auth, "/attachments", "kefu", ("empty.jpg", b""))
    assert staged.status_code == 400
    page = browser_as("zhuguan").post(f"/tasks/{refund_world.task_id}/attachments", follow_redirects=True,
                                      data={"file": (io.BytesIO(b""), "空.png")}, content_type="multipart/form-data")
    assert "文件「空.png」是空的（0 字节）" in page.get_data(as_text=True)
    assert client.get(f"/api/v1/instances/{refund_world.instance_id}/attachments",
                      headers=auth("zhuguan")).get_json() == []


def staged_count(app) -> int:
    with app.extensions["liucheng_db"].session() as session:
        return session.execute(text("SELECT count(*) FROM attachments WHERE instance_id IS NULL")).scalar()


def test_staged_uploads_have_a_quota_per_user(client, auth, refund_world, monkeypatch):
    monkeypatch.setattr(attachments, "STAGED_QUOTA_MB", 1)
    first = upload(client, auth, "/attachments", "kefu", ("a.png", PNG + bytes(700 * 1024)))
    assert first.status_code == 201
    over = upload(client, auth, "/attachments", "kefu", ("b.png", PNG + bytes(400 * 1024)))
    body = over.get_json()
    assert over.status_code == 413 and body["details"]["reason"] == "quota" and "1 MB" in body["message"]
    assert upload(client, auth, "/attachments", "zhuguan", ("c.png", PNG + bytes(400 * 1024))).status_code == 201


def test_the_worker_prunes_staged_uploads_no_start_used_after_a_day(client, auth, refund_world, clock, app,
                                                                    monkeypatch, tmp_path):
    monkeypatch.setenv("LIUCHENG_FILES_DIR", str(tmp_path / "files"))
    [old] = upload(client, auth, "/attachments", "kefu", ("old.png", PNG)).get_json()
    [kept] = upload(client, auth, f"/tasks/{refund_world.task_id}/attachments", "zhuguan", ("same.png", PNG)).get_json()
    clock.advance(hours=23)
    [young] = upload(client, auth, "/attachments", "kefu", ("young.jpg", JPEG)).get_json()
    database = app.extensions["liucheng_db"]
    scheduler.tick(database)
    assert staged_count(app) == 2
    clock.advance(hours=2)
    failures: list = []
    scheduler.tick(database, failures=failures)
    assert failures == [] and staged_count(app) == 1
    assert (tmp_path / "files" / old["sha256"]).exists()  # the same bytes are still the instance's attachment
    assert client.get(kept["url"], headers=auth("zhuguan")).data == PNG
    clock.advance(hours=24)
    monkeypatch.setattr(attachments, "PRUNE_BATCH", 1)
    scheduler.tick(database)
    assert staged_count(app) == 0 and not (tmp_path / "files" / young["sha256"]).exists()


def test_an_id_beyond_any_row_is_404_for_every_method(client, auth, refund_world):
    for path in (f"/instances/{2 ** 64}/comments", f"/tasks/{2 ** 64}/comments", f"/instances/{2 ** 31}/comments"):
        response = client.get("/api/v1" + path, headers=auth("zhuguan"))
        assert response.status_code == 404, (path, response.status_code)
    assert client.get(f"/api/v1/instances/{2 ** 31 - 1}/comments", headers=auth("zhuguan")).status_code == 404


def test_thumbnails_are_lazy_and_sized(client, auth, refund_world, browser_as):
    upload(client, auth, f"/instances/{refund_world.instance_id}/attachments", "kefu", ("p.png", PNG))
    page = browser_as("zhuguan").get(f"/instances/{refund_world.instance_id}").get_data(as_text=True)
    thumb = page[page.index('class="attachment-thumb"'):]
    thumb = thumb[:thumb.index(">")]
    assert 'loading="lazy"' in thumb and 'width="96"' in thumb and 'height="72"' in thumb


def test_a_relative_files_dir_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIUCHENG_FILES_DIR", "relative-files-f2")
    first = file_store.files_dir()
    assert first == tmp_path / "relative-files-f2" and first.is_absolute()
    monkeypatch.chdir("/")
    assert file_store.files_dir() == first


def test_a_start_form_with_files_over_the_request_limit_comes_back_to_the_form(refund_world, browser_as, web):
    web.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    kefu = browser_as("kefu")
    response = kefu.post("/start/refund", content_type="multipart/form-data",
                         data={"order_no": "W-9", "evidence": (io.BytesIO(PNG + bytes(100 * 1024)), "big.png")})
    assert response.status_code == 302 and response.headers["Location"] == "/start/refund"
    assert "每个文件最多" in kefu.get("/start/refund").get_data(as_text=True)
