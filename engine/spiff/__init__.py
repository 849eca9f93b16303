"""The SpiffWorkflow adapter: the only package of Liucheng that imports SpiffWorkflow.

Code outside this package uses the names below as ``spiff.<name>`` (``from engine import spiff``);
they take and return workflows as opaque objects and plain dataclasses (``ReadyTask``,
``WaitingTimer``, ``WaitingMessage``, ``Step``, ``FailedStep``, ``Unstorable``, ``ModelRefused``).

Modules:

* ``parser``: BPMN documents to serialized specs (``ModelRefused`` when SpiffWorkflow refuses one);
* ``state``: specs and instance state serialized, restored, migrated across serializer versions;
* ``pruning``: finished history cut from the task trees after every command;
* ``tasks``: what a workflow holds now (ready user tasks, process data, failed tasks, row notes);
* ``steps``: running on, completing, cancelling, retrying (``Step``, ``FailedStep``);
* ``waits``: what a workflow waits on (timers, messages, receive tasks without a message), firing,
  delivering and triggering;
* ``camunda_timers``: SpiffWorkflow's timers made Camunda's (Quartz cron cycles, fired only by the worker,
  a non-interrupting timer's paths outliving its activity);
* ``correlation``: which waiting catch event a message reaches (BPMN correlation properties), catching it;
* ``signals``: signals broadcast to the waiting catch events, signal names of a spec, what an instance threw;
* ``event_subprocesses``: an interrupting event subprocess cancelling the rest of its scope, error and
  escalation start events of event subprocesses read;
* ``external``: service tasks the engine does not run itself (external tasks, expressions, delegates);
* ``calls``: call activities: called processes of other files bound on first use, ``in``/``out`` data mapping;
* ``multi_instance``: multi-instance activities as Camunda runs them (collection and element variable,
  ``loopCounter`` and the ``nrOf…`` counters local to each instance);
* ``io_parameters``: ``camunda:inputOutput`` as the pre- and post-scripts of the activity;
* ``branches``: parallel branches' data where they meet;
* ``data_guard``: scripts held to the storable-data rule, unstorable data contained;
* ``scripts``: the sandboxed script engine, given the connectors service tasks call;
* ``speedups``: cheaper tree walks and log records;
* ``patches``: every change to SpiffWorkflow's code, checked and installed by ``install``.
"""

from engine.spiff import patches, scripts
from engine.spiff.calls import Resolver, called_bindings, set_resolver
from engine.spiff.data_guard import Unstorable, checked_script_engine, contain, describe_element
from engine.spiff.external import (EXTERNAL_TYPES, WaitingExternal, catches_external_error, complete_external, fail_external,
                                   throw_external_error, waiting_external)
from engine.spiff.parser import ModelRefused, parse_specs
from engine.spiff.patches import SpiffWorkflowChanged
from engine.spiff.scripts import (SandboxEnvironment, SandboxScriptEngine, ServiceCall, check_source,
                                  find_script_error, make_script_engine)
from engine.spiff.speedups import stock, walk
from engine.spiff.correlation import (catch_message, catch_problem, catching_elements, deliver_message,
                                      property_ids as correlation_property_ids, waiting_messages)
from engine.spiff.waits import (WaitingMessage, WaitingTimer,
                                fire_start_timer, fire_timers, firing_at, iso_datetime, iso_duration_from,
                                iso_recurring_interval, timers_held, trigger,
                                waiting_timers, waiting_triggers, WaitingTrigger)
from engine.spiff.pruning import prune
from engine.spiff.signals import (ThrownSignal, catch_signal, signal_names, signal_starts,
                                  take_thrown as take_thrown_messages, waits_for_signal)
from engine.spiff.state import (SERIALIZER, StateVersionError, dump_spec, dump_state, load_spec, load_state,
                                new_workflow)
from engine.spiff.steps import FailedStep, Listener, Step, cancel, complete, failed_step, retry_failed, run
from engine.spiff.tasks import (ReadyTask, failed_task_ids, is_completed, memo, process_data, set_variable,
                                task_data, ready_user_tasks)

__all__ = [
    "install", "ServiceCall", "SpiffWorkflowChanged", "StateVersionError",
    # dataclasses that leave the adapter
    "ReadyTask", "WaitingTimer", "WaitingMessage", "Step", "FailedStep", "Unstorable", "ModelRefused", "Listener",
    # specs and state
    "SERIALIZER", "dump_spec", "load_spec", "parse_specs", "new_workflow", "dump_state", "load_state", "prune",
    "memo",
    # the steps
    "run", "complete", "cancel", "retry_failed", "is_completed", "process_data", "set_variable", "ready_user_tasks",
    "task_data", "failed_task_ids", "failed_step",
    # waits
    "waiting_timers", "waiting_messages", "fire_timers", "fire_start_timer", "deliver_message",
    "catch_message", "catch_problem", "catching_elements", "correlation_property_ids", "take_thrown_messages", "timers_held", "firing_at",
    "iso_datetime", "iso_duration_from", "iso_recurring_interval",
    "waiting_triggers", "trigger", "WaitingTrigger",
    # signals
    "ThrownSignal", "catch_signal", "signal_names", "signal_starts", "waits_for_signal",
    # external tasks
    "EXTERNAL_TYPES", "WaitingExternal", "waiting_external", "complete_external", "fail_external", "throw_external_error",
    "catches_external_error",
    # called processes of other files
    "Resolver", "called_bindings", "set_resolver",
    # data guard and scripts
    "contain", "checked_script_engine", "describe_element", "find_script_error", "check_source",
    "make_script_engine", "SandboxEnvironment", "SandboxScriptEngine",
    # tree walks
    "walk", "stock",
]


def install(services: ServiceCall) -> None:
    """Make SpiffWorkflow the engine's: check and install the patches (``patches``; refuses with
    ``SpiffWorkflowChanged`` on a SpiffWorkflow they were not written for) and give the script engine
    the connectors service tasks call. Called once at engine start-up (``engine.runtime.start_engine``);
    calling it again is harmless. Importing the package changes nothing in SpiffWorkflow."""
    patches.install()
    scripts.use_services(services)
