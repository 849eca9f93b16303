"""Designers (admins): upload BPMN files and forms, read deploy problems, browse definitions and diagrams.

A definition's BPMN is a download (``application/octet-stream``, attachment): an uploaded file
is never rendered by the browser in the app's origin, so no script in it can run here.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from engine import definitions, instances, runtime
from engine.errors import DefinitionError, ValidationError
from engine.forms import FORM_SUFFIXES, read_forms
from engine.models import Definition
from webui import diagram
from webui.db import get_session
from webui.http_status import UNPROCESSABLE
from webui.pages.display import DIAGRAM_SCALE, engine_text, role_name
from webui.pages.signed_in import DESIGN_ROLES, actor, page
from webui.strict_input import ID_MAX

bp = Blueprint("admin", __name__, url_prefix="/admin")
BPMN_SUFFIXES = definitions.BPMN_SUFFIXES + (".xml",)


def grouped() -> dict[str, list[Definition]]:
    """Every deployed version, by process (newest version first)."""
    result: dict[str, list[Definition]] = {}
    for row in definitions.list_definitions(get_session()):
        result.setdefault(row.process_id, []).append(row)
    return result


def instance_counts() -> dict[int, int]:
    return instances.count_by_definition(get_session())


@bp.get("/definitions")
@page(*DESIGN_ROLES)
def definitions_list():
    return render_template("admin/definitions.html", grouped=grouped(), counts=instance_counts(), problems=[],
                           uploaded=[])


@bp.post("/definitions")
@page(*DESIGN_ROLES)
def upload():
    """Deploy the uploaded BPMN files with their forms; all or nothing, problems by file/line/element."""
    documents, form_files, problems, other = {}, {}, [], []
    for upload_ in request.files.getlist("files"):
        name = Path(upload_.filename or "").name
        if not name:
            continue
        content = upload_.read()
        if name.lower().endswith(FORM_SUFFIXES):
            form_files[name] = content
        elif name.lower().endswith(BPMN_SUFFIXES):
            documents[name] = content
        else:
            other.append(name)
    try:
        if other:
            raise ValidationError(_("Upload .bpmn files, .json forms and Camunda .form files only (not %(names)s).", names=", ".join(other)))
        if not documents:
            raise ValidationError(_("Choose at least one BPMN file (.bpmn) to deploy."))
        deployed = runtime.deploy_definitions(get_session(), documents, read_forms(form_files), actor().username)
    except DefinitionError as exc:
        problems = [with_source(p, {**documents, **form_files}) for p in exc.details.get("problems", [])]
        if not problems:
            problems = [{"file": "", "line": None, "element_id": None, "message": exc.message, "source": ""}]
    except ValidationError as exc:
        problems = [{"file": "", "line": None, "element_id": None, "message": exc.message, "source": ""}]
    else:
        for item in deployed:
            if item.created:
                flash(_("Deployed %(process)s version %(version)s from %(file)s.", process=item.process_id,
                        version=item.version, file=item.source_name), "success")
            else:
                flash(_("%(process)s is unchanged (version %(version)s).", process=item.process_id,
                        version=item.version), "info")
            for note in item.notes or []:
                flash(_("Note on %(file)s, element %(element)s: %(message)s", file=note["file"],
                        element=note.get("element_id") or "-", message=engine_text(note["message"])), "info")
        return redirect(url_for("admin.definitions_list"))
    # the upload form again with its problems: whatever the refusal, the upload could not be processed
    return render_template("admin/definitions.html", grouped=grouped(), counts=instance_counts(),
                           problems=problems, uploaded=sorted(documents) + sorted(form_files)), UNPROCESSABLE


def with_source(problem: dict, files: dict[str, bytes]) -> dict:
    """The problem plus the text of the line it names (when the file was uploaded)."""
    source = ""
    content = files.get(Path(problem.get("file") or "").name)
    line = problem.get("line")
    if content is not None and isinstance(line, int) and line > 0:
        lines = content.decode("utf-8", errors="replace").splitlines()
        source = lines[line - 1].strip()[:300] if line <= len(lines) else ""
    return {**problem, "file": Path(problem.get("file") or "").name, "source": source}


@bp.get("/definitions/<process_id>")
@page(*DESIGN_ROLES)
def definition(process_id: str):
    session = get_session()
    version = request.args.get("version", type=int)
    if version is not None and not 0 < version <= ID_MAX:
        abort(404)
    row = definitions.get_definition(session, process_id, version)
    versions = [d for d in definitions.list_definitions(session) if d.process_id == process_id]
    try:
        svg = Markup(diagram.render(row.bpmn_xml, None, role_name, row.name, DIAGRAM_SCALE))
    except diagram.DiagramError as exc:
        svg, diagram_error = None, str(exc)
    else:
        diagram_error = None
    nodes = (row.elements or {}).get("nodes", {})
    human = [(node_id, node) for node_id, node in nodes.items() if node["type"] in ("userTask", "manualTask")]
    return render_template("admin/definition.html", definition=row, versions=versions, svg=svg,
                           diagram_error=diagram_error, human=human, counts=instance_counts())


@bp.get("/definitions/<process_id>/<int:version>/bpmn")
@page(*DESIGN_ROLES)
def definition_xml(process_id: str, version: int):
    row = definitions.get_definition(get_session(), process_id, version)
    response = Response(row.bpmn_xml.encode("utf-8"), mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=f"{process_id}-v{version}.bpmn")
    return response
