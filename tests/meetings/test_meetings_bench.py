"""The benchmark runs end to end at a tiny size (no timing assertions: it proves it works)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_at_a_tiny_size_and_prints_its_table(pg_server, tmp_path):
    argv = [sys.executable, str(ROOT / "bench" / "registry_bench.py"), "--declarations", "2000", "--growth-from", "1000",
            "--backend", "both", "--pg-url", pg_server.url, "--iterations", "20", "--http-requests", "20",
            "--meetings", "2", "--workdir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for backend in ("sqlite", "postgresql"):
        for size in ("1,000", "2,000"):
            for operation in ("check", "entitled", "meeting 30x20"):
                for mode in ("in-process", "http"):
                    assert f"| {backend} | {size} | {operation} | {mode} |" in out, out
        assert f"| {backend} | {'check'} | in-process |" in out  # the growth table
    assert "| sqlite | 2,000 |" in out and "build s" in out
    assert not list(tmp_path.glob("*.sqlite3"))  # the run cleans up its databases


def test_the_document_benchmark_runs_as_make_bench_calls_it():
    """``make bench`` runs ``python bench/documents.py`` with bench/ first on sys.path: no
    file there may shadow a package (bench/registry.py once hid ``registry``)."""
    assert not (ROOT / "bench" / "registry.py").exists()
    done = subprocess.run([sys.executable, "bench/documents.py", "--runs", "1"], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "bijlage 4  ours, PDF/A-3b" in done.stdout and "ratio" in done.stdout
