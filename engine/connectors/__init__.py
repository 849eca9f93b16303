"""Connectors: the Python callables service tasks may call, registered by name.

A BPMN service task names one with SpiffWorkflow's extension::

    <spiffworkflow:serviceTaskOperator id="stock.receive" resultVariable="stock_result">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="lines" type="any" value="accepted_lines"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

Parameter values are sandboxed expressions on the process data; the
connector's return value is stored in ``resultVariable``. An unknown connector
or a missing declared input is a deploy-time error. A connector receives a
``Context`` (database session, instance id, clock) and the declared inputs. A result
the engine cannot store (``engine.values``) fails the service task, like a connector error.
The registry is ``registry``; importing this package registers every connector module in it
(``builtin`` imports them).
"""
from __future__ import annotations

from engine.connectors import builtin  # noqa: F401 - the connectors that ship with Liucheng register themselves
from engine.connectors.registry import (REGISTRY, Connector, ConnectorFailed, Context, call, connector,
                                        find_connector, running)

__all__ = ["REGISTRY", "Connector", "ConnectorFailed", "Context", "call", "connector", "find_connector", "running"]
