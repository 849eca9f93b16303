"""Responses compressed for clients that accept it (Flask-Compress): HTML, JSON, CSS, JS and SVG
of at least ``MIN_SIZE`` bytes, gzip preferred (brotli when the client asks only for it).

Left as they are: downloads (``Content-Disposition: attachment`` — exports, uploaded files, which
are often compressed already), other media types (images, PDF, archives), error and redirect
responses. A streamed response (static files, streamed exports) stays streamed: one compressor
runs over its chunks as they are sent.
"""
from __future__ import annotations

from flask import Flask, Response
from flask_compress import Compress

MIN_SIZE = 500
MIMETYPES = ["text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
             "application/json", "application/problem+json", "image/svg+xml", "application/xml", "text/xml"]


class Compression(Compress):
    """Flask-Compress, except for attachments."""

    def after_request(self, response: Response) -> Response:
        if response.headers.get("Content-Disposition", "").lower().startswith("attachment"):
            return response
        return super().after_request(response)


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_MIN_SIZE", MIN_SIZE)
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip", "br"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["gzip", "br", "deflate"])  # static files stream too
    Compression(app)
