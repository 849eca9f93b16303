"""The engine's commands: the only package that advances a workflow.

Every command is one transaction (``engine.database.command``) over the rows of ``engine.worklist``,
``timers``, ``messages``, ``incidents``, ``history`` and ``definitions``, which never import this
package. Modules, bottom to top:

* ``workflows``: the instance lock, loading and saving a workflow, the workflow cache, data that
  cannot be stored;
* ``steps``: ``advance``, running a step and writing what it changed (returns the messages thrown);
* ``starts``: who may start a process, start values, a new instance's first run;
* ``deliveries``: receiving messages, delivering them and what instances throw (depth first, with
  a stack of generators instead of recursion);
* ``tasks``: complete, claim (one or several), unclaim, reassign, prioritize a human task;
* ``delegations``: delegate a human task and resolve it;
* ``instances``: start and cancel an instance;
* ``firing``: firing due timers and timer start events;
* ``recovery``: retrying and resolving incidents;
* ``deployments``: deploying definitions, which starts processes with kept messages.
* ``variables``: an admin's edit of a running instance's variable.
* ``collaboration`` (above the commands): comments, attachments, completing or starting with the files of file
  fields (it joins ``tasks``' and ``instances``' commands in its transaction).

``start_engine`` is the one start-up call, before any command.
"""
from __future__ import annotations

from engine import connectors, spiff
from engine.runtime.deliveries import expire_kept_messages, receive_message
from engine.runtime.deployments import deploy_definitions, deploy_paths
from engine.runtime.firing import claim_due_timers, fire_due_timers, fire_timer, worker_name
from engine.runtime.instances import cancel_instance, get_instance, start_instance
from engine.runtime.recovery import resolve_incident, retry_due_incidents, retry_incident
from engine.runtime.starts import check_may_start, system_actor
from engine.runtime.steps import advance
from engine.runtime.delegations import delegate_task, resolve_task
from engine.runtime.tasks import (claim_task, claim_tasks, complete_task, prioritize_task, reassign_task,
                                  unclaim_task)
from engine.runtime.variables import edit_variable
from engine.runtime.workflows import forget, load_workflow, lock_instance

__all__ = [
    "start_engine",
    # commands
    "start_instance", "cancel_instance", "complete_task", "claim_task", "unclaim_task", "reassign_task",
    "claim_tasks", "prioritize_task", "delegate_task", "resolve_task", "edit_variable",
    "receive_message", "expire_kept_messages", "fire_due_timers", "claim_due_timers", "fire_timer",
    "retry_incident", "retry_due_incidents", "resolve_incident", "deploy_definitions", "deploy_paths",
    # reading and helpers the callers of commands use
    "get_instance", "check_may_start", "system_actor", "worker_name",
    # inside commands (tests and benchmarks)
    "advance", "lock_instance", "load_workflow", "forget",
]


def start_engine() -> None:
    """Start-up, once per process before any command: install the SpiffWorkflow adapter (patches,
    connectors for service tasks). The web app, the CLI, the worker, tests and benchmarks call it."""
    spiff.install(connectors.call)
