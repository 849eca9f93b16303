"""Comments and attachments on the task and instance pages: the forms that add them, downloads, image
previews, and what the panels (``common/_comments.html``, ``common/_attachments.html``) show.

Who may is the engine's rule (``engine.runtime.collaboration``): who may see the task or instance reads
and adds, an auditor only reads. A refusal (blank comment, a file too large, of a type not accepted or
not what its name says) comes back to the page as a flash; nothing is stored. Images are previewed by
the original file, shown inline, lazily loaded and scaled down by CSS (``.attachment-thumb``): no image is
decoded on the server (no new dependency, no decompression bombs) and the browser caches it.

``too_large_back`` answers a page's multipart post over the request limit (10 files' worth,
``file_store.max_request_bytes``): back to the page it came from with a flash naming the limits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from engine import attachments, comments, file_store
from engine.errors import FormValidationError, PermissionDeniedError, ValidationError
from engine.models import Attachment, HumanTask, Instance
from engine.runtime import collaboration
from webui.api.attachments import file_response
from webui.db import get_session
from webui.pages import file_links
from webui.pages.display import engine_text, safe_next
from webui.pages.errors import error_page
from webui.pages.signed_in import actor, page

bp = Blueprint("collaboration", __name__)


# -- comments -------------------------------------------------------------------------------------

@bp.post("/tasks/<int:task_id>/comments")
@page(changes=True)
def comment_on_task(task_id: int):
    with refusals_flashed():
        collaboration.comment_on_task(get_session(), task_id, request.form.get("text"), actor())
        flash(_("Comment added."), "success")
    return redirect(url_for("tasks.task", task_id=task_id) + "#comments")


@bp.post("/instances/<int:instance_id>/comments")
@page(changes=True)
def comment_on_instance(instance_id: int):
    with refusals_flashed():
        collaboration.comment_on_instance(get_session(), instance_id, request.form.get("text"), actor())
        flash(_("Comment added."), "success")
    return redirect(url_for("instances.detail", instance_id=instance_id) + "#comments")


# -- attachments ------------------------------------------------------------------------------------

@bp.post("/tasks/<int:task_id>/attachments")
@page(changes=True)
def attach_to_task(task_id: int):
    with refusals_flashed():
        rows = collaboration.attach_to_task(get_session(), task_id, uploads(), actor())
        flash(_("Attached: %(names)s.", names=", ".join(r.name for r in rows)), "success")
    return redirect(url_for("tasks.task", task_id=task_id) + "#attachments")


@bp.post("/instances/<int:instance_id>/attachments")
@page(changes=True)
def attach_to_instance(instance_id: int):
    with refusals_flashed():
        rows = collaboration.attach_to_instance(get_session(), instance_id, uploads(), actor())
        flash(_("Attached: %(names)s.", names=", ".join(r.name for r in rows)), "success")
    return redirect(url_for("instances.detail", instance_id=instance_id) + "#attachments")


@bp.get("/attachments/<int:attachment_id>")
@page()
def download(attachment_id: int):
    session = get_session()
    row = readable_attachment(attachment_id)
    return file_response(attachments.content_of(session, row), row.name, row.content_type)


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@page()
def thumbnail(attachment_id: int):
    """An image attachment shown inline (for ``<img>``; the page scales it down); 404 for other types."""
    session = get_session()
    row = readable_attachment(attachment_id)
    if not attachments.is_image(row):
        abort(404)
    response = file_response(attachments.content_of(session, row), row.name, row.content_type, inline=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def readable_attachment(attachment_id: int) -> Attachment:
    session = get_session()
    row = attachments.get_attachment(session, attachment_id)
    collaboration.visible_instance(session, row.instance_id, actor())
    return row


def uploads() -> list[tuple[Optional[str], bytes]]:
    try:
        files = [f for f in request.files.getlist("file") if f.filename]
    except RequestEntityTooLarge:
        raise attachments.too_large() from None
    if not files:
        raise ValidationError("Choose a file to upload.", {"file": ["Required."], "reason": "missing"})
    return [(f.filename, f.read(file_store.max_upload_bytes() + 1)) for f in files]


def too_large_back(exc):
    """A page's post over ``MAX_CONTENT_LENGTH``: files (multipart) go back to the page they came from with a
    flash naming the limits (nothing was stored); any other form is the error page with the request limit."""
    per_file, total = file_store.max_upload_mb(), file_store.max_request_mb()
    if request.mimetype != "multipart/form-data":
        return error_page(413, _("What you sent is too large (at most %(mb)d MB); nothing was changed. Send less "
                                 "and try again.", mb=total))
    flash(_("The files are too large: at most %(mb)s MB each and %(total)s MB in one submission; nothing was "
            "saved. Choose smaller or fewer files and submit again.", mb=per_file, total=total), "error")
    return redirect(page_sent_from())


def page_sent_from() -> str:
    """The page the post came from (its Referer on this site), else the task's, instance's or form's page."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""), "/")
    args = request.view_args or {}
    if "task_id" in args:
        return url_for("tasks.task", task_id=args["task_id"])
    if "instance_id" in args:
        return url_for("instances.detail", instance_id=args["instance_id"])
    return safe_next(request.path, "/")


class refusals_flashed:
    """``with refusals_flashed(): ...`` — a refused comment or upload becomes a flash in the user's language
    (nothing was stored); who may not is still a 403 page."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if not isinstance(exc, (ValidationError, FormValidationError)) or isinstance(exc, PermissionDeniedError):
            return False
        get_session().rollback()
        flash(refusal_text(exc), "error")
        return True


def refusal_text(exc) -> str:
    """A refused comment or upload, said in the page's language."""
    details = exc.details if isinstance(exc.details, dict) else {}
    reason = details.get("reason")
    if reason == "size":
        return _("The file is larger than %(mb)s MB, the most one file may be; send a smaller or compressed file.",
                 mb=details.get("max_mb"))
    if reason in ("type", "accept"):
        return _("Files of this type are not accepted; upload one of: %(types)s.", types=details.get("accepted"))
    if reason == "content":
        return _("The file's content is not what its name says (e.g. a .png that is not a PNG); upload the "
                 "original file.")
    if reason in ("name", "missing"):
        return _("Choose a file to upload.")
    if reason == "empty":
        return _("The file “%(name)s” is empty (0 bytes); choose the file again or another one.",
                 name=details.get("name"))
    if reason == "quota":
        return _("Your files uploaded for starts not made yet would be more than %(mb)s MB; start with the files "
                 "uploaded, or wait: unused ones are removed after a day.", mb=details.get("max_staged_mb"))
    if "text" in details:
        if details["text"] == ["Required."]:
            return _("A comment cannot be blank; write its text.")
        return _("A comment is at most %(n)s characters; shorten it.", n=comments.MAX_TEXT)
    return engine_text(exc.message)


# -- the panels -----------------------------------------------------------------------------------

@dataclass
class Panel:
    """What the comments and attachments panels of one page show, and where their forms post."""

    comments: list[dict]
    attachments: list[Attachment]
    may_add: bool
    comment_url: str
    upload_url: str
    task_names: dict[int, str]
    max_mb: int


def panel(instance: Instance, task: Optional[HumanTask] = None) -> Panel:
    """The panels' data, read once per request (both partials ask for it)."""
    key = (instance.id, task.id if task is not None else None)
    cached = g.setdefault("collaboration_panels", {})
    if key not in cached:
        cached[key] = _panel(instance, task)
    return cached[key]


def _panel(instance: Instance, task: Optional[HumanTask]) -> Panel:
    session = get_session()
    user = actor()
    rows = comments.of_instance(session, instance.id)
    if task is not None:
        comment_url = url_for("collaboration.comment_on_task", task_id=task.id)
        upload_url = url_for("collaboration.attach_to_task", task_id=task.id)
    else:
        comment_url = url_for("collaboration.comment_on_instance", instance_id=instance.id)
        upload_url = url_for("collaboration.attach_to_instance", instance_id=instance.id)
    files = attachments.of_instance(session, instance.id)
    shown = [dict(d, at=row.at) for d, row in zip(comments.as_dicts(session, rows), rows)]  # times for ``when``
    return Panel(shown, files, not user.read_only, comment_url, upload_url, comments.task_names(session, instance.id),
                 file_store.max_upload_mb())


def init_app(app: Flask) -> None:
    """For the templates: the panels' data (``collaboration_panel(instance, task=None)``) and a file field's
    current files (``file_reference``, ``file_links_html``)."""
    app.jinja_env.globals.update(collaboration_panel=panel, is_image_attachment=attachments.is_image,
                                 file_reference=file_links.is_reference, file_links_html=file_links.html,
                                 attachment_size=filesize)


def event_details(event_type: str, data: dict) -> list[tuple[str, str]]:
    """A ``comment_added`` or ``attachment_added`` history event's details as the timeline shows them."""
    if event_type == "comment_added":
        return [(_("Comment text"), str(data.get("text") or ""))]
    size = data.get("size")
    return [(_("File"), str(data.get("name") or "")),
            (_("Size"), filesize(size) if isinstance(size, int) else ""),
            ("SHA-256", str(data.get("sha256") or "")),
            (_("Type"), str(data.get("content_type") or ""))]


def filesize(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
