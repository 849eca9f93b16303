"""Turning a checked BPMN document into SpiffWorkflow specs, serialized once per definition version.

``engine.bpmn`` reads and checks the XML (lxml) and calls ``parse_specs`` with the processes to
run; what SpiffWorkflow's own parser refuses comes back as ``ModelRefused`` with the file, line and
element it names, for ``engine.bpmn`` to turn into a located deploy error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.spiff import multi_instance
from engine.spiff import correlation, event_subprocesses, io_parameters
from engine.spiff.calls import CallParser, local_specs
from engine.spiff.external import ServiceParser
from engine.spiff.signals import SignalEndEventParser
from engine.spiff.state import dump_spec
from engine.spiff.waits import wait_for_trigger


@dataclass
class ModelRefused(Exception):
    """SpiffWorkflow's parser refused the model: where (as far as it says) and why."""

    message: str
    file_name: Optional[str]
    line: Optional[int]
    element_id: Optional[str]


class LiuchengParser(SpiffBpmnParser):
    """SpiffWorkflow's parser, reading Camunda/Flowable service tasks too (``engine.spiff.external``) and
    whether an event subprocess interrupts (``engine.spiff.event_subprocesses``)."""

    OVERRIDE_PARSER_CLASSES = multi_instance.parser_classes({
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceParser, SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][1]),
        full_tag("callActivity"): (CallParser, SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("callActivity")][1]),
        full_tag("endEvent"): (SignalEndEventParser, SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("endEvent")][1]),
        full_tag("startEvent"): (event_subprocesses.StartEventParser,
                                 SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("startEvent")][1])})


def parse_specs(name: str, root, process_ids: list[str], designer_ids: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The serialized spec (with its subprocesses' and called processes') of each process in
    ``process_ids``, parsed from the lxml ``root`` of document ``name``. ``designer_ids`` ({id read:
    id the designer wrote}) gives elements renamed for SpiffWorkflow their own id back."""
    parser = LiuchengParser(validator=VALIDATOR)
    try:
        io_parameters.as_scripts(root, name)
        correlation.unprefixed_refs(root)
        parser.add_bpmn_xml(root, filename=name)
        return {process_id: dump_spec(*_as_designed(parser.get_spec(process_id), local_specs(parser, process_id),
                                                    designer_ids or {}))
                for process_id in process_ids}
    except ValidationException as exc:
        raise ModelRefused(str(exc.args[0]) if exc.args else str(exc), exc.file_name or None,
                           exc.line_number if isinstance(exc.line_number, int) else None, exc.id or None) from exc


def _as_designed(spec, subprocess_specs: dict, designer_ids: dict[str, str]):
    """The specs with each element's designer id (the rows, history and API show it) and receive tasks
    without a message waiting to be triggered (``waits.wait_for_trigger``)."""
    for each in [spec, *subprocess_specs.values()]:
        for task_spec in each.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) in designer_ids:
                task_spec.bpmn_id = designer_ids[task_spec.bpmn_id]
            wait_for_trigger(task_spec)
    return spec, subprocess_specs
