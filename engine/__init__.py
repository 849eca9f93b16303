"""Liucheng's engine: a library (no Flask) that deploys BPMN definitions, runs and
persists instances, keeps the worklist, timers, messages and the audit history.

Modules, one noun each: ``definitions`` (deploying), ``bpmn`` (reading files) with ``xml_encoding``,
``forms``, ``runtime`` (commands on instances), ``worklist`` (human tasks),
``timers``, ``messages`` and ``message_rules`` (who may send, declared message
variables), ``history``, ``incidents``, ``users``, ``logins`` (sign-in throttling),
``access`` (who may see an instance), ``values`` (what data can be stored) and
``data_guard`` (scripts and connectors held to it), ``sandbox`` (scripts) with
``script_policy`` (what a source may contain), ``script_cost`` (which sources run
in-process), ``script_pool`` and ``script_worker`` (the worker processes),
``workflow`` (the SpiffWorkflow adapter), ``models``, ``database``, ``clock``,
``errors``, ``scheduler``.
"""
