"""Reading BPMN documents: parse, check and describe them for the engine.

``read_document`` turns one BPMN file into ``ProcessModel``s (one per executable process) or
raises ``DefinitionError`` whose ``details["problems"]`` each name the file, line, element and
what to do; findings that do not refuse the document are ``Note``s, kept in ``ProcessModel.notes``
for the deploy reply. Modules: ``document`` (reading one document into process models),
``problems`` (``Problem``, ``Note``, ``fail``), ``checks`` (the engine's own checks of the elements,
repeated ids), ``expression_checks`` (conditions, timers, any JUEL/Python text the sandbox runs),
``service_checks`` (connectors, external tasks, other engines' service types), ``multi_instance``
(multi-instance loops checked and rewritten), ``structure`` (what SpiffWorkflow cannot parse as drawn,
rewritten or refused), ``generated_forms`` (which form an element shows, generated forms, notes),
``extensions`` (Camunda/Flowable/Activiti attributes read alike), ``elements`` (what the engine records
of each element: ``describe_elements``). Nothing here touches the database.
"""
from __future__ import annotations

from engine.bpmn.problems import Note, Problem, fail
from engine.bpmn.document import ProcessModel, read_document
from engine.bpmn.elements import describe_elements

__all__ = ["Note", "ProcessModel", "Problem", "describe_elements", "fail", "read_document"]
