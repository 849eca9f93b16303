"""``camunda:inputOutput`` in the SpiffWorkflow adapter: input parameters set before an activity runs,
output parameters after it, as SpiffWorkflow pre- and post-scripts written into the parsed tree.

Camunda 7 sets each ``camunda:inputParameter`` as a local variable of the activity before it runs and,
after it, each ``camunda:outputParameter`` in the enclosing scope, evaluated in the activity's scope;
the local variables then end. Liucheng's process data has one scope, so: the inputs are set before the
activity (a user task's form sees them), the outputs after it, then the inputs that are not outputs are
removed again (an input named like a process variable replaces that variable for the activity and
removes it after: name inputs apart). A parameter's value is text (a string), ``${…}``/``#{…}`` (JUEL,
evaluated in the sandbox), ``camunda:list`` or ``camunda:map`` (nested alike) or empty (null); a
``camunda:script`` value is refused (a ``ValidationException`` naming the element, which ``parser`` turns
into a located problem). Tasks of every kind, subprocesses and call activities take
them (a script task has them around its script). On events and receive tasks the output parameters
declare what a message may set (``engine.message_rules``) and are left to it; other elements are refused.
"""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine import juel

CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "sendTask", "businessRuleTask",
              "subProcess", "transaction", "callActivity", "scriptTask"}
MESSAGE_DECLARATIONS = {"startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask",
                        "intermediateThrowEvent", "endEvent"}  # engine.message_rules reads these


def as_scripts(root, file_name: str) -> None:
    """Replace every ``camunda:inputOutput`` of ``root`` by the pre- and post-scripts doing its work."""
    for mapping in list(root.iter(CAMUNDA + "inputOutput")):
        element = mapping.getparent().getparent()
        tag = etree.QName(element).localname
        if tag in MESSAGE_DECLARATIONS:
            continue
        if tag not in ACTIVITIES:
            raise ValidationException(f"camunda:inputOutput on a {tag} is not supported: put it on a task, "
                                      "subprocess or call activity, or set the variables in a script task",
                                      node=element, file_name=file_name)
        inputs = [(p.get("name"), _value(p, file_name, element)) for p in mapping.findall(CAMUNDA + "inputParameter")]
        outputs = [(p.get("name"), _value(p, file_name, element)) for p in mapping.findall(CAMUNDA + "outputParameter")]
        before = "\n".join(f"{name} = {value}" for name, value in inputs)
        ended = [name for name, _ in inputs if name not in {out for out, _ in outputs}]
        after = "\n".join([f"{name} = {value}" for name, value in outputs] + [f"del {name}" for name in ended])
        if tag == "scriptTask":
            script = element.find(BPMN + "script")
            script.text = "\n".join(part for part in (before, script.text or "", after) if part.strip())
        else:
            _add_script(mapping.getparent(), "preScript", before, first=True)
            _add_script(mapping.getparent(), "postScript", after, first=False)
        mapping.getparent().remove(mapping)


def _add_script(extensions, kind: str, source: str, first: bool) -> None:
    if not source:
        return
    found = extensions.find(SPIFF + kind)
    if found is None:
        found = etree.SubElement(extensions, SPIFF + kind)
        found.text = source
    else:  # the model's own spiffworkflow script runs after the inputs, before the outputs
        found.text = "\n".join([source, found.text or ""] if first else [found.text or "", source])


def _value(node, file_name: str, element) -> str:
    """The Python expression of a parameter's (or list item's, map entry's) value."""
    children = [child for child in node if isinstance(child.tag, str)]
    if not children:
        text = (node.text or "").strip()
        if not text:
            return "None"
        try:
            return juel.to_python(text) if juel.is_juel(text) else repr(text)
        except juel.JuelError as exc:
            raise ValidationException(f"Parameter '{node.get('name')}' = '{text}': {exc.message}", node=element,
                                      file_name=file_name) from exc
    child = children[0]
    kind = etree.QName(child).localname
    if kind == "list":
        return "[" + ", ".join(_value(item, file_name, element) for item in child if isinstance(item.tag, str)) + "]"
    if kind == "map":
        return "{" + ", ".join(f"{entry.get('key')!r}: {_value(entry, file_name, element)}"
                               for entry in child if isinstance(entry.tag, str)) + "}"
    raise ValidationException(f"Parameter '{node.get('name')}' is a camunda:{kind}, which Liucheng does not "
                              "evaluate: write its value as ${…} (JUEL) or text, or compute it in a script task",
                              node=element, file_name=file_name)
