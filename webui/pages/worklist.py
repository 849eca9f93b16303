"""The worklist page, where a user lands: my tasks, then the tasks my roles may claim (both counted and shown),
the tasks I delegated; filters (process, role, due, follow-up, priority, business key, variables), sorting,
pages, saved filters as tabs, and bulk claim.

The tabs, filters and sorting are ``engine.worklist``'s search; saved filters are ``engine.saved_filters``'.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine import clock, runtime, saved_filters, worklist
from engine.errors import EngineError, ValidationError
from engine.models import Definition
from webui.db import get_session
from webui.pages import variable_filter
from webui.pages.display import count, engine_text, pager
from webui.pages.signed_in import actor, page

bp = Blueprint("worklist", __name__)
DUE_FILTERS = ("overdue", "soon")
PREVIEW = 5  # claimable tasks shown under an empty or short "my tasks"
ARG_OF = {"process_id": "process", "text": "q"}  # saved filter key -> the page's query argument


@bp.get("/worklist")
@page(works=True)
def index():
    session, user, today = get_session(), actor(), worklist.local_today()
    chosen = chosen_filter(request.args)
    expression = variable_filter.expression(request.args)
    chosen["variables"] = expression or None
    counts = {name: count(session, worklist.search(user, name, today=today)) for name in worklist.TABS}
    overdue = {name: count(session, worklist.search(user, name, due="overdue", today=today))
               for name in ("mine", "claimable")}
    error, rows, pages = None, [], pager(0)
    try:
        query = search(user, chosen, today)
        pages = pager(count(session, query))
        rows = session.execute(worklist.ordered(query, chosen["sort"]).limit(pages.size).offset(pages.offset)).all()
    except ValidationError as exc:  # a variable expression the engine cannot read: say why, list nothing
        session.rollback()
        error = engine_text(exc.message)
    preview = claimable_preview(session, user, chosen, counts, today)
    quick = quick_tasks(session, rows + preview)
    processes = worklist.processes_with_tasks(session, user)
    filters = saved_filters.list_filters(session, user)
    session.commit()
    now = clock.now()
    return render_template(
        "worklist/index.html", tab=chosen["tab"], rows=rows, counts=counts, overdue=overdue, pages=pages,
        quick=quick, preview=preview, processes=processes, chosen=chosen, error=error, filters=filters,
        current_filter=current_filter(filters, chosen), saved_query=saved_query(chosen),
        fields=variable_filter.fields(session, processes, chosen["process_id"]),
        operators=variable_filter.OPERATORS, roles=sorted(user.roles), now=now, soon=now + worklist.DUE_SOON,
        filtered=has_filters(chosen), variables_expression=expression, saved_args=as_args,
        saved_arg_name=lambda key: ARG_OF.get(key, key),
        process_id=chosen["process_id"], due=chosen["due"], search=chosen["text"] or "", sort=chosen["sort"])


def chosen_filter(args) -> dict:
    """The page's query arguments, checked, under the saved filters' keys (unknown values are dropped)."""
    number = (args.get("min_priority") or "").strip()
    return {"tab": args.get("tab") if args.get("tab") in worklist.TABS else "mine",
            "process_id": args.get("process") or None, "role": args.get("role") or None,
            "due": args.get("due") if args.get("due") in DUE_FILTERS else None,
            "text": (args.get("q") or "").strip()[:100] or None,
            "sort": args.get("sort") if args.get("sort") in worklist.SORTS else "due",
            "min_priority": int(number) if number.isascii() and number.isdigit() and len(number) <= 3 else None,
            "follow_up": args.get("follow_up") if args.get("follow_up") in worklist.FOLLOW_UPS else None}


def search(user, chosen: dict, today: date):
    return worklist.search(user, chosen["tab"], chosen["process_id"], chosen["due"], chosen["text"],
                           role=chosen["role"], min_priority=chosen["min_priority"], follow_up=chosen["follow_up"],
                           today=today, variables=chosen["variables"])


def claimable_preview(session, user, chosen: dict, counts: dict, today: date) -> list:
    """The first claimable tasks, shown under "my tasks" so the landing page shows all the user can act on."""
    if chosen["tab"] != "mine" or not counts.get("claimable") or has_filters(chosen):
        return []
    query = worklist.ordered(worklist.search(user, "claimable", today=today), "due")
    return session.execute(query.limit(PREVIEW)).all()


def has_filters(chosen: dict) -> bool:
    return any(value for key, value in chosen.items() if key not in ("tab", "sort"))


def quick_tasks(session, rows) -> set[int]:
    """Tasks that can be completed from the list: those whose form has no field at all
    (``engine.worklist.completes_without_input``), unless a delegate holds them."""
    wanted = {instance.definition_id for _task, instance in rows}
    forms = dict(session.execute(select(Definition.id, Definition.forms).where(Definition.id.in_(wanted))).all())
    quick = set()
    for task, instance in rows:
        form = (forms.get(instance.definition_id) or {}).get(task.form_key) if task.form_key else None
        if worklist.completes_without_input(form) and task.delegation != "pending":
            quick.add(task.id)
    return quick


# -- saved filters ------------------------------------------------------------------------------

def saved_query(chosen: dict) -> dict:
    """The current filter as a saved filter's query (only what is set)."""
    return {key: value for key, value in chosen.items() if value not in (None, "")}


def as_args(query: dict) -> dict:
    """A saved filter's query as the page's query arguments."""
    return {ARG_OF.get(key, key): value for key, value in (query or {}).items() if value not in (None, "")}


def current_filter(filters, chosen: dict):
    mine = saved_query(chosen)
    return next((f.id for f in filters if {k: v for k, v in (f.query or {}).items() if v not in (None, "")} == mine),
                None)


@bp.post("/worklist/filters")
@page(changes=True)
def save_filter():
    chosen = chosen_filter(request.form)
    chosen["variables"] = variable_filter.expression(request.form) or None
    query = saved_query(chosen)
    try:
        row = saved_filters.create_filter(get_session(), actor(), (request.form.get("name") or "").strip(), query)
    except EngineError as exc:
        flash(engine_text(exc.message), "error")
        return redirect(url_for("worklist.index", **as_args(query)))
    flash(_("Filter “%(name)s” saved; it is a tab of your worklist now.", name=row.name), "success")
    return redirect(url_for("worklist.index", **as_args(query)))


@bp.post("/worklist/filters/<int:filter_id>/delete")
@page(changes=True)
def delete_filter(filter_id: int):
    try:
        saved_filters.delete_filter(get_session(), actor(), filter_id)
    except EngineError as exc:
        flash(engine_text(exc.message), "error")
    else:
        flash(_("Filter deleted."), "success")
    return redirect(url_for("worklist.index"))


# -- bulk claim -----------------------------------------------------------------------------------

@bp.post("/worklist/claim")
@page(changes=True)
def claim_selected():
    """Claim the ticked tasks (each on its own: one taken by someone else meanwhile does not stop the rest)."""
    ids = [int(v) for v in request.form.getlist("task_id") if v.isascii() and v.isdigit() and len(v) <= 12][:100]
    if not ids:
        flash(_("Tick the tasks to claim first."), "error")
        return redirect(url_for("worklist.index", tab="claimable"))
    result = runtime.claim_tasks(get_session(), ids, actor())
    if result["claimed"]:
        flash(_("You claimed %(n)s tasks; they are in “My tasks”.", n=len(result["claimed"])), "success")
    for refusal in result["refused"]:
        flash(_("Task %(id)s was not claimed: %(reason)s", id=refusal["id"],
                reason=engine_text(refusal["message"])), "error")
    return redirect(url_for("worklist.index", tab="mine" if result["claimed"] else "claimable"))

