"""An instance's history timeline as people read it: grouped by task, filtered, paged.

A task's events (created, claimed, comments, attachments, completed …: every event with the
task's id) form one group under the task's name, with who finished it and when; every other
event is a group of its own. ``build`` filters the events by category (``show``: tasks, data,
system — query arguments, so the filter works without JavaScript), orders the groups (oldest
first by default, ``order=newest``) and cuts one page of ``PAGE_SIZE`` groups (``page``).
Used by the instance page, the task page and the auditors' timeline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from flask import request

from engine.models import HistoryEvent
from webui.pages.display import Pager
from webui.pages.history import Entry, Labels, entry

PAGE_SIZE = 50  # groups per page
CATEGORIES = ("tasks", "data", "system")
DATA_EVENTS = {"instance_started", "instance_completed", "script_changed_data"}
SHOWN_BY_THE_STEP = {"start_form", "task_form", "script", "admin_edit"}  # variables_changed sources whose step's
# own event lists the change (start, task completion, script, the operation): not shown twice
OPEN_GROUP = 8  # a group with more events than this shows them folded


def category_of(event_type: str) -> str:
    """tasks: people's work on tasks (and its comments and attachments); data: what the instance's
    data became; system: what the engine did by itself (steps, gateways, timers, messages, incidents)."""
    if event_type.startswith(("task_", "comment_", "attachment_")):
        return "tasks"
    if event_type in DATA_EVENTS or "variable" in event_type:
        return "data"
    return "system"


@dataclass
class Group:
    entries: list[Entry]
    task_id: Optional[int] = None

    @property
    def first(self) -> HistoryEvent:
        return self.entries[0].event

    @property
    def last(self) -> HistoryEvent:
        return self.entries[-1].event

    @property
    def title(self) -> str:
        head = self.entries[0]
        return (head.element or head.label) if self.task_id is not None else head.label

    @property
    def who(self) -> str:
        """Who finished the task (else the last person who acted on it)."""
        people = [e.event.actor for e in self.entries if e.event.actor and e.event.actor != "system"]
        done = [e.event.actor for e in self.entries if e.event.type == "task_completed"]
        return (done or people or [""])[-1]

    @property
    def outcome(self) -> str:
        return self.last.type if self.last.type in ("task_completed", "task_cancelled") else ""

    @property
    def folded(self) -> bool:
        return len(self.entries) > OPEN_GROUP


@dataclass
class Timeline:
    groups: list[Group]
    pages: Pager
    show: tuple[str, ...]
    order: str
    total_events: int
    hidden: int = 0  # events the filter left out
    categories: tuple[str, ...] = field(default=CATEGORIES)

    def __iter__(self):
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)


def requested_show() -> tuple[str, ...]:
    chosen = tuple(c for c in CATEGORIES if c in request.args.getlist("show"))
    return chosen or CATEGORIES


def requested_order() -> str:
    return "newest" if request.args.get("order") == "newest" else "oldest"


def requested_page() -> int:
    page = request.args.get("page", "1")
    return int(page[:9]) if page.isascii() and page.isdigit() else 1


def build(events: list[HistoryEvent], labels: Labels, size: int = PAGE_SIZE) -> Timeline:
    """One page of the grouped, filtered timeline of ``events`` (oldest first), as the request asks."""
    show, order = requested_show(), requested_order()
    groups = group(events, labels, show)
    shown = sum(len(g.entries) for g in groups)
    if order == "newest":
        groups.sort(key=lambda g: g.last.id, reverse=True)
    total = len(groups)
    pages = Pager(min(max(requested_page(), 1), max(1, -(-total // size))), size, total)
    return Timeline(groups[pages.offset:pages.offset + size], pages, show, order, len(events), len(events) - shown)


def group(events: list[HistoryEvent], labels: Labels, show: tuple[str, ...] = CATEGORIES) -> list[Group]:
    """The events of the chosen categories in groups, in the order each group began."""
    groups: list[Group] = []
    by_task: dict[int, Group] = {}
    for event in events:
        in_task = event.task_id is not None and category_of(event.type) != "data"
        if ("tasks" if in_task else category_of(event.type)) not in show or shown_by_its_step(event):
            continue
        item = entry(event, labels)
        if event.type == "variables_changed":
            variable_changes(item, event, labels)
        if in_task and event.task_id in by_task:
            by_task[event.task_id].entries.append(item)
            continue
        new = Group([item], event.task_id if in_task else None)
        groups.append(new)
        if in_task:
            by_task[event.task_id] = new
    return groups


def shown_by_its_step(event: HistoryEvent) -> bool:
    """A ``variables_changed`` event whose step's own event already lists the change."""
    return event.type == "variables_changed" and (event.data or {}).get("source") in SHOWN_BY_THE_STEP


def variable_changes(item: Entry, event: HistoryEvent, labels: Labels) -> None:
    """A ``variables_changed`` event (a message's, a worker's, the engine's…) as its changes, old → new."""
    item.details = []
    for name, change in ((event.data or {}).get("changes") or {}).items():
        item.change(labels.field(name), change.get("old"), change.get("new"), labels.spec(name),
                    removed=bool(change.get("removed")))
