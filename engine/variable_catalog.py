"""A process version's variables: for each variable, the field of the form that owns it (one label per
variable per process), computed at deploy and stored as ``Definition.elements["variables"]``.

The form that owns a variable is the first form, in process order, where it is an editable field (not
``readonly``, not a ``note``): the start form first, then the forms of the steps as the flows reach them
(then the steps no flow reaches, in document order). A variable only shown read-only takes the first form
showing it. Two owning forms that label a variable differently (zh or en), or a choice both offer, give a
deploy ``Note`` at the second form's element, naming both forms and labels; choices only a later form
offers are added to the owner's (a form may offer fewer or other choices).

The process's data dictionary (``forms/<process id>.variables.json``, kept with the forms under
``variables:<process id>``: ``engine.forms``) comes after all forms: it labels the variables scripts and
workers set, which no form shows, and a variable a form owns keeps the form's label (a dictionary that
labels it otherwise gives the same note).
"""
from __future__ import annotations

from typing import Any, Optional

from engine.bpmn.problems import Note
from engine.forms import DICTIONARY

SHOWN_KEYS = ("type", "label", "choices", "item_type", "places", "currency", "widget", "choices_from")


def with_variables(elements: dict, forms: dict[str, dict], source_name: str = "") -> tuple[dict, list[Note]]:
    """``elements`` with its ``variables`` catalogue, and the notes on conflicting labels."""
    variables, notes = catalog(elements, forms, source_name)
    return {**elements, "variables": variables}, notes


def catalog(elements: dict, forms: dict[str, dict], source_name: str = "") -> tuple[dict[str, dict], list[Note]]:
    """``{variable: field spec (with "form", the owning form's key)}`` and the conflict notes."""
    owned: dict[str, dict] = {}
    shown: dict[str, dict] = {}
    notes: list[Note] = []
    nodes = elements.get("nodes", {})
    for element_id, form_key in forms_in_order(elements, forms) + dictionaries(forms):
        for spec in forms[form_key].get("fields", []):
            name = spec.get("name")
            if not name or spec.get("type") == "note":
                continue
            entry = shown_spec(spec) | {"form": form_key}
            if spec.get("readonly"):
                shown.setdefault(name, entry)
            elif name not in owned:
                owned[name] = entry
            else:
                if conflicts(owned[name], entry):
                    notes.append(conflict_note(name, owned[name], entry, source_name, element_id,
                                               nodes.get(element_id, {}).get("line")))
                owned[name] = with_more_choices(owned[name], entry)
    return {**shown, **owned}, notes


def forms_in_order(elements: dict, forms: dict[str, dict]) -> list[tuple[str, str]]:
    """``(element id, form key)`` of each form the process shows, once per form, in process order."""
    nodes = elements.get("nodes", {})
    seen, found = set(), []
    for element_id in process_order(elements):
        key = nodes[element_id].get("form_key")
        if key and key in forms and key not in seen:
            seen.add(key)
            found.append((element_id, key))
    return found


def dictionaries(forms: dict[str, dict]) -> list[tuple[None, str]]:
    """``(None, key)`` of the process's data dictionary among its forms (no element shows it)."""
    return [(None, key) for key in sorted(forms) if key.startswith(DICTIONARY)]


def process_order(elements: dict) -> list[str]:
    """The elements as the flows reach them from the start events (the one with a form first), breadth
    first, into subprocesses and boundary events; the rest after, in document order."""
    nodes, flows = elements.get("nodes", {}), elements.get("flows", {})
    following: dict[str, list[str]] = {}
    for flow in flows.values():
        following.setdefault(flow["source"], []).append(flow["target"])
    for node_id, node in nodes.items():
        inside = node.get("attached_to") or (node.get("parent") if node.get("type") == "startEvent" else None)
        if inside:
            following.setdefault(inside, []).append(node_id)
    by_line = sorted(nodes, key=lambda n: nodes[n].get("line") or 0)
    starts = [n for n in by_line if nodes[n].get("type") == "startEvent" and not nodes[n].get("in_subprocess")]
    starts.sort(key=lambda n: not nodes[n].get("form_key"))
    order, queue = list(dict.fromkeys(starts)), list(dict.fromkeys(starts))
    reached = set(order)
    while queue:
        for target in following.get(queue.pop(0), []):
            if target in nodes and target not in reached:
                reached.add(target)
                order.append(target)
                queue.append(target)
    return order + [n for n in by_line if n not in reached]


def shown_spec(spec: dict) -> dict:
    """What showing a value needs of its field: name, type, label, choices, places, currency, nested fields."""
    entry: dict[str, Any] = {"name": spec["name"]}
    entry.update({key: spec[key] for key in SHOWN_KEYS if key in spec})
    if spec.get("fields"):
        entry["fields"] = [shown_spec(sub) for sub in spec["fields"] if sub.get("name") and sub.get("type") != "note"]
    return entry


def conflicts(first: dict, second: dict) -> bool:
    """Whether two owning fields would show one variable differently: another zh or en label, or a choice
    both offer labelled otherwise (a form offering other choices is no conflict: the labels are joined)."""
    return label_texts(first) != label_texts(second) or bool(choice_clashes(first, second))


def choice_clashes(first: dict, second: dict) -> list[str]:
    """The choice values both fields offer with other labels."""
    theirs = choice_labels(first)
    return [value for value, label in choice_labels(second).items() if value in theirs and theirs[value] != label]


def with_more_choices(owner: dict, other: dict) -> dict:
    """The owner's field with the choices only ``other`` offers added after its own."""
    known = choice_labels(owner)
    extra = [c for c in other.get("choices") or [] if isinstance(c, dict) and str(c.get("value")) not in known]
    return {**owner, "choices": list(owner.get("choices") or []) + extra} if extra else owner


def label_texts(spec: dict) -> tuple[str, str]:
    label = spec.get("label")
    if isinstance(label, dict):
        return (label.get("zh") or label.get("en") or "", label.get("en") or label.get("zh") or "")
    return (str(label or spec["name"]),) * 2


def choice_labels(spec: dict) -> dict[str, tuple[str, str]]:
    return {str(c.get("value")): label_texts({"name": str(c.get("value")), "label": c.get("label")})
            for c in spec.get("choices") or [] if isinstance(c, dict)}


def conflict_note(name: str, first: dict, second: dict, source_name: str, element_id: str,
                  line: Optional[int]) -> Note:
    """The note on a variable the second form labels otherwise (each sentence one ``engine.problem_texts``
    template)."""
    clashes = choice_clashes(first, second)
    if label_texts(first) != label_texts(second) or not clashes:
        what = (f"Variable '{name}' is labelled {_words(second)} in form '{second['form']}' but {_words(first)} "
                f"in form '{first['form']}', which owns it.")
    else:
        what = (f"Variable '{name}' labels the choice '{clashes[0]}' otherwise in form '{second['form']}' than in "
                f"form '{first['form']}', which owns it.")
    return Note(source_name, line, element_id,
                f"{what} Pages show the owning form's labels, except on the task of '{second['form']}'. Give both "
                f"fields the same labels, or store the second one in another variable.")


def _words(spec: dict) -> str:
    zh, en = label_texts(spec)
    return f"「{zh}」 / \"{en}\""
