"""The SpiffWorkflow adapter: the only package of Liucheng that imports SpiffWorkflow.

Modules: ``workflow`` (state serialization, pruning, the steps), ``waits`` (what a workflow
waits on: timers and messages, firing and delivering), ``branches`` (parallel branches' data),
``speedups`` (cheaper tree walks), ``data_guard`` (scripts held to the storable-data rule),
``scripts`` (the sandboxed script engine).
"""

from engine.spiff import scripts
from engine.spiff.scripts import ServiceCall


def install(services: ServiceCall) -> None:
    """Make SpiffWorkflow the engine's: give the script engine the connectors service tasks call.
    Called once at engine start-up (``engine.runtime.start_engine``); calling it again is harmless."""
    scripts.use_services(services)
