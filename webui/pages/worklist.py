"""The worklist page: my tasks and the tasks my roles may claim, with counts, filters, sorting and pages.

The tabs, filters and sorting are ``engine.worklist``'s search.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from engine import clock, worklist
from engine.models import Definition
from webui.db import get_session
from webui.pages.display import count, pager
from webui.pages.signed_in import actor, page

bp = Blueprint("worklist", __name__)
TABS = ("mine", "claimable")
DUE_FILTERS = ("overdue", "soon")
SORTS = ("due", "-due", "created")


@bp.get("/worklist")
@page(works=True)
def index():
    session = get_session()
    user = actor()
    tab = request.args.get("tab") if request.args.get("tab") in TABS else "mine"
    process_id = request.args.get("process") or None
    due = request.args.get("due") if request.args.get("due") in DUE_FILTERS else None
    search = (request.args.get("q") or "").strip()[:100]
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "due"
    counts = {name: count(session, worklist.search(user, name)) for name in TABS}
    overdue = {name: count(session, worklist.search(user, name, due="overdue")) for name in TABS}
    query = worklist.search(user, tab, process_id, due, search)
    pages = pager(count(session, query))
    rows = session.execute(worklist.ordered(query, sort).limit(pages.size).offset(pages.offset)).all()
    quick = quick_tasks(session, rows)
    session.commit()
    now = clock.now()
    return render_template(
        "worklist/index.html", tab=tab, rows=rows, counts=counts, overdue=overdue, pages=pages, quick=quick,
        processes=worklist.processes_with_tasks(session, user), process_id=process_id, due=due, search=search,
        sort=sort, now=now, soon=now + worklist.DUE_SOON)


def quick_tasks(session, rows) -> set[int]:
    """Tasks that can be completed from the list: no form, or no input to fill in."""
    wanted = {instance.definition_id for _task, instance in rows}
    forms = dict(session.execute(select(Definition.id, Definition.forms).where(Definition.id.in_(wanted))).all())
    quick = set()
    for task, instance in rows:
        form = (forms.get(instance.definition_id) or {}).get(task.form_key or "")
        if not form or all(f.get("readonly") or not f.get("required") for f in form.get("fields", [])):
            quick.add(task.id)
    return quick
