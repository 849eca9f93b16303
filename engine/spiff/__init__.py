"""The SpiffWorkflow adapter: the only package of Liucheng that imports SpiffWorkflow.

Modules: ``workflow`` (state serialization, pruning, the steps), ``waits`` (what a workflow
waits on: timers and messages, firing and delivering), ``branches`` (parallel branches' data),
``speedups`` (cheaper tree walks), ``data_guard`` (scripts held to the storable-data rule),
``scripts`` (the sandboxed script engine).
"""
