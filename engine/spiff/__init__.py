"""The SpiffWorkflow adapter: the only package of Liucheng that imports SpiffWorkflow.

Code outside this package uses the names below as ``spiff.<name>`` (``from engine import spiff``);
they take and return workflows as opaque objects and plain dataclasses (``ReadyTask``,
``WaitingTimer``, ``WaitingMessage``, ``Step``, ``FailedStep``, ``Unstorable``, ``ModelRefused``).

Modules: ``workflow`` (state serialization, pruning, the steps), ``waits`` (what a workflow
waits on: timers and messages, firing and delivering), ``branches`` (parallel branches' data),
``speedups`` (cheaper tree walks), ``data_guard`` (scripts held to the storable-data rule),
``scripts`` (the sandboxed script engine), ``parser`` (BPMN documents to serialized specs).
"""

from engine.spiff import scripts
from engine.spiff.data_guard import Unstorable, checked_script_engine, contain, describe_element
from engine.spiff.parser import ModelRefused, parse_specs
from engine.spiff.scripts import (SandboxEnvironment, SandboxScriptEngine, ServiceCall, check_source,
                                  find_script_error, make_script_engine)
from engine.spiff.speedups import stock, walk
from engine.spiff.waits import (WaitingMessage, WaitingTimer, catch_message, catch_problem, deliver_message,
                                fire_start_timer, fire_timers, firing_at, iso_datetime, iso_duration_from,
                                iso_recurring_interval, take_thrown_messages, timers_held, waiting_messages,
                                waiting_timers)
from engine.spiff.workflow import (SERIALIZER, FailedStep, Listener, ReadyTask, Step, cancel, complete,
                                   dump_spec, dump_state, failed_step, failed_task_ids, find_task, is_completed,
                                   load_spec, load_state, memo, new_workflow, process_data, prune,
                                   ready_user_tasks, retry_failed, run)

__all__ = [
    "install", "ServiceCall",
    # dataclasses that leave the adapter
    "ReadyTask", "WaitingTimer", "WaitingMessage", "Step", "FailedStep", "Unstorable", "ModelRefused", "Listener",
    # specs and state
    "SERIALIZER", "dump_spec", "load_spec", "parse_specs", "new_workflow", "dump_state", "load_state", "prune",
    "memo",
    # the steps
    "run", "complete", "cancel", "retry_failed", "is_completed", "process_data", "ready_user_tasks",
    "find_task", "failed_task_ids", "failed_step",
    # waits
    "waiting_timers", "waiting_messages", "fire_timers", "fire_start_timer", "deliver_message",
    "catch_message", "catch_problem", "take_thrown_messages", "timers_held", "firing_at",
    "iso_datetime", "iso_duration_from", "iso_recurring_interval",
    # data guard and scripts
    "contain", "checked_script_engine", "describe_element", "find_script_error", "check_source",
    "make_script_engine", "SandboxEnvironment", "SandboxScriptEngine",
    # tree walks
    "walk", "stock",
]


def install(services: ServiceCall) -> None:
    """Make SpiffWorkflow the engine's: give the script engine the connectors service tasks call.
    Called once at engine start-up (``engine.runtime.start_engine``); calling it again is harmless."""
    scripts.use_services(services)
