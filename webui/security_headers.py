"""The headers every response carries so a browser keeps the app's pages to themselves.

Pages: a Content-Security-Policy that runs only the app's own script files (no
inline script, no ``on*=`` handlers, no ``eval``), loads everything from the
app itself, and allows one inline style: the ``<style>`` of the server-drawn
BPMN diagrams, by its hash. API answers and downloads: nothing at all may
load from them (``default-src 'none'; sandbox``). Everywhere: no framing
(clickjacking), no MIME sniffing, the referrer only to this site, and no
``Access-Control-*`` header (the API is for programs; no other site's page may
read it), even if some extension were to add one.
"""
from __future__ import annotations

import base64
import hashlib

from flask import Flask, Response, request

from webui import diagram


def _style_hash(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode() + "'"


PAGE_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", f"style-src 'self' {_style_hash(diagram.CSS)}",
    "img-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])
CLOSED_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
ALWAYS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    closed = request.path.startswith("/api/") or "attachment" in response.headers.get("Content-Disposition", "")
    response.headers["Content-Security-Policy"] = CLOSED_POLICY if closed else PAGE_POLICY
    for name, value in ALWAYS.items():
        response.headers[name] = value
    for name in [n for n in response.headers.keys() if n.lower().startswith("access-control-")]:
        del response.headers[name]
    return response
