"""Liucheng's engine: a library (no Flask) that deploys BPMN definitions, runs and stores instances,
and keeps the worklist, timers, messages, incidents and the audit history.

Its packages and modules, by layer, top first; a module imports only from its own layer or the ones
below it (the ``layers`` contract in setup.cfg; docs/architecture.md says why):

Scheduler
    ``scheduler``       APScheduler ticks that fire due timers, retry incidents, expire kept messages.
Commands
    ``runtime/``        the commands (start, complete, claim, cancel, deliver a message, fire a timer,
                        retry an incident, deploy): the only package that advances a workflow.
                        Its modules, top first: ``tasks``, ``instances``, ``firing``, ``recovery``,
                        ``deployments``; ``deliveries``; ``starts``; ``steps``; ``workflows``.
Rows (one noun each: its table rows, queries and rules; none imports ``runtime``)
    ``worklist``        human task rows: who sees them, who may claim, complete, unclaim; the search.
    ``instances``       instance rows: business keys, the search over those a user may see, one as JSON.
    ``timers``          timer rows: due times, leases, timer start events.
    ``messages``        message rows: stored once per sender and id, kept ones, subscriptions.
    ``message_rules``   who may send a message and the variables a catching element lets it set.
    ``incidents``       incident rows: retries with back-off, then open.
    ``history``         the append-only audit trail of each instance.
    ``definitions``     deployed definitions: checking and storing versions, reading them.
    ``bpmn/``           reading BPMN documents: ``document`` (one document into process models),
                        ``checks`` (the engine's checks of the elements), ``elements`` (what it records
                        of each element).
    ``forms``           JSON field lists as marshmallow schemas; the data a form lets through.
    ``users``           users, roles, memberships, attributes (creating and changing them), API tokens.
    ``logins``          failed sign-ins and lockouts.
    ``access``          who may see (and cancel) which instance.
    ``connectors/``     the callables service tasks call: ``registry`` (by name), ``stock``, ``merchants``.
SpiffWorkflow adapter
    ``spiff/``          the only package that imports SpiffWorkflow: specs and state, pruning, steps,
                        waits, the script engine, the checked patches.
Pieces below the adapter
    ``script_policy``   the sandbox's language: what a source may contain and how it runs.
    ``script_cost``     which sources are provably cheap enough to run in the web process.
    ``script_pool``     the sandbox worker processes, with hard limits.
    ``script_worker``   one sandbox worker process (``python -m engine.script_worker``).
    ``values``          what process data can hold, and where a value breaks the rule.
    ``statements``      prepared statements of a command's hot path.
    ``database``        connections, sessions, the schema, ``command`` (one transaction).
    ``encoding``        JSON of state, data and history (orjson).
    ``xml_encoding``    the bytes of a BPMN document as UTF-8.
    ``config``          settings from the environment.
Base
    ``models``          the tables, their statuses (enums) and the role groups.
    ``clock``           the engine's time (frozen in tests); imports nothing from the engine.
    ``errors``          the errors the engine refuses with (the web layer maps them to HTTP).

``migrations/`` holds the Alembic scripts of the schema (``liucheng db upgrade``).
"""
