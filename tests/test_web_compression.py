"""Responses are gzip-compressed for clients that accept it (issue 14, item 10): pages, JSON, CSS, JS
and SVG; not small responses, downloads (attachments) or media that is compressed already; a
streamed response still streams."""
from __future__ import annotations

import gzip

from flask import Response

from web_support import browser_as, refund_world, web  # noqa: F401 (fixtures)

GZIP = {"Accept-Encoding": "gzip"}


def unzipped(response) -> bytes:
    assert response.headers.get("Content-Encoding") == "gzip", dict(response.headers)
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    return gzip.decompress(response.get_data())


def test_pages_css_js_and_json_are_gzipped_when_accepted(client, make_user, auth):
    page = client.get("/login", headers=GZIP)
    body = unzipped(page).decode("utf-8")
    assert page.mimetype == "text/html" and "</html>" in body and len(page.get_data()) < len(body.encode())
    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers and plain.get_data(as_text=True).endswith(body[-200:])
    for path, mimetype in (("/static/css/app.css", "text/css"), ("/static/js/app.js", "text/javascript")):
        response = client.get(path, headers=GZIP)
        assert response.mimetype == mimetype and b"{" in unzipped(response), path
        response.close()
    make_user("boss", "admin")
    spec = client.get("/api/v1/openapi.json", headers={**auth("boss"), **GZIP})
    assert spec.status_code == 200 and spec.mimetype == "application/json" and b'"paths"' in unzipped(spec)


def test_the_instance_diagram_svg_is_gzipped(refund_world, browser_as):  # noqa: F811
    response = browser_as("kefu").get(f"/instances/{refund_world.instance_id}/diagram.svg", headers=GZIP)
    assert response.mimetype == "image/svg+xml" and unzipped(response).startswith(b"<svg")


def test_small_responses_and_attachments_are_left_alone(web):  # noqa: F811
    @web.get("/_test/small")
    def small():
        return Response("ok" * 10, mimetype="text/plain")

    @web.get("/_test/download")
    def download():
        response = Response("a,b\r\n" * 500, mimetype="application/json")
        response.headers["Content-Disposition"] = 'attachment; filename="x.json"'
        return response

    @web.get("/_test/photo")
    def photo():
        return Response(b"\x89PNG" + b"\0" * 4000, mimetype="image/png")

    client = web.test_client()
    for path in ("/_test/small", "/_test/download", "/_test/photo"):
        response = client.get(path, headers=GZIP)
        assert "Content-Encoding" not in response.headers, path


def test_a_streamed_response_still_streams(web):  # noqa: F811
    sent = []

    @web.get("/_test/stream")
    def stream():
        def rows():
            for i in range(200):
                sent.append(i)
                yield f"row {i} " + "x" * 200 + "\n"
        return Response(rows(), mimetype="text/plain")

    response = web.test_client().get("/_test/stream", headers=GZIP, buffered=False)
    assert response.is_streamed and "Content-Length" not in response.headers
    assert response.headers["Content-Encoding"] == "gzip"
    chunks = iter(response.response)
    first = next(chunks)
    assert len(sent) < 200  # the body is produced as it is sent, not all before the first byte
    body = gzip.decompress(first + b"".join(chunks))
    response.close()
    assert body.count(b"\n") == 200 and len(sent) == 200
