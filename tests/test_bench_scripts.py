"""The benchmarks under bench/ still run against the engine as it is (they print figures and assert
nothing themselves, so a rename in the engine would otherwise break them unnoticed)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # unreachable: the benchmark skips PostgreSQL


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_engine_bench_runs_the_refund_path_and_the_loop():
    out = run("bench/engine_bench.py", "--instances", "2", "--repeats", "1", "--rounds", "12", "--pg", NO_POSTGRES)
    assert "Liucheng on SQLite" in out and "PostgreSQL skipped" in out
    assert "loop of 12 rounds ended correctly: status completed, rounds=12" in out


def test_sandbox_bench_runs():
    out = run("bench/sandbox_bench.py", "--rounds", "2")
    assert "per step" in out and "run in-process" in out


def test_timers_bench_imports_what_it_uses():
    out = run("-c", "import runpy, sys; sys.argv = ['timers_bench', '--help']; "
                    "runpy.run_path('bench/timers_bench.py', run_name='__main__')")
    assert "--timers" in out
