"""Liucheng's engine: a library (no Flask) that deploys BPMN definitions, runs and
persists instances, keeps the worklist, timers, messages and the audit history.

Modules, one noun each: ``definitions`` (deploying), ``bpmn`` (reading files),
``forms``, ``runtime`` (commands on instances), ``worklist`` (human tasks),
``timers``, ``messages``, ``history``, ``users``, ``sandbox`` (scripts),
``workflow`` (the SpiffWorkflow adapter), ``models``, ``database``, ``clock``,
``errors``, ``scheduler``.
"""
