"""Connectors every installation has; the modules of this package register the rest."""
from __future__ import annotations

import importlib
import pkgutil

import engine.connectors as package
from engine.connectors import connector


def _import_all() -> None:
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "builtin":
            importlib.import_module(f"engine.connectors.{module.name}")


@connector("echo", inputs={"value": "any"}, outputs=["value"],
           description="Returns its input unchanged (for testing service tasks).")
def echo(context, value=None):
    return value


_import_all()
