"""Worker processes for the race tests on PostgreSQL (tests/test_worker_processes.py,
tests/test_external_tasks_pg.py): ``start_worker`` runs a test's worker script in a new Python process with
this checkout on its path; ``wait_ready`` waits for the script's "ready" line (it then waits for a line on
its stdin, so that every worker starts racing at once)."""
from __future__ import annotations

import os
import select
import subprocess
import sys

from conftest import ROOT

TIMEOUT = 120  # seconds a worker may take to start, and to finish


def start_worker(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(process: subprocess.Popen) -> None:
    readable, _, _ = select.select([process.stdout], [], [], TIMEOUT)
    assert readable, "a worker did not start in time"
    line = process.stdout.readline()
    assert line.strip() == "ready", (line, process.stderr.read() if process.poll() is not None else "")
