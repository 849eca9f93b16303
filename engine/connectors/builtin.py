"""Connectors every installation has; the modules of this package register the rest."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from engine.connectors.registry import connector

NOT_CONNECTORS = {"builtin", "registry"}


def _import_all() -> None:
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name not in NOT_CONNECTORS:
            importlib.import_module(f"engine.connectors.{module.name}")


@connector("echo", inputs={"value": "any"}, outputs=["value"],
           description="Returns its input unchanged (for testing service tasks).")
def echo(context, value=None):
    return value


_import_all()
