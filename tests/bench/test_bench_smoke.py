"""The benchmark runs end to end on a tiny tenant, so it cannot rot (a smoke test, not a timing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import psycopg
import pytest

from tests.server_process import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench_database_url(request):
    """A database of each test's own (they may run at once), dropped afterwards."""
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    name = f"{url.path.strip('/')}_bench_{request.node.name.removeprefix('test_')[:20]}"
    yield url._replace(path=f"/{name}").geturl()
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
def test_tiny_benchmark_runs_every_phase_and_prints_targets(bench_database_url):
    env = {**os.environ, "BENCH_DATABASE_URL": bench_database_url}

    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--tiny", "--reseed", "--port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "floor: GET /healthz" in out and "Okta-like workload overall" in out
    assert "reference: GET /readyz (SELECT 1)" in out
    assert "scale: big group, PUT" in out and "RSS <= 256 MiB" in out
    assert "errors]" not in out, out
    assert "tenant scoping: second tenant's key sees none of the first's rows: PASS" in out
    # The in-process, one-request-at-a-time figures run on the same tiny tenant.
    single = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "single.py"), "--repeat", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-3000:]
    for label in ("SCIM userName eq lookup", "SCIM 50k group, PUT one change", "Groups page"):
        assert label in single.stdout


# The reference server ships in ../shared beside the checkout (as on the team's machines and CI).
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "peers" / "django-scim2-demo"


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"the reference server is not at {REFERENCE}")
def test_tiny_side_by_side_prints_every_phase_for_ours_and_the_reference(bench_database_url):
    env = {**os.environ, "BENCH_DATABASE_URL": bench_database_url}

    done = subprocess.run(
        [str(ROOT / "bin" / "bench"), "--side-by-side", "--tiny", "--port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "FAILED" not in out and "wrong answer" not in out, out
    summary = out.split("Summary (medians over the rounds):")[1].splitlines()
    for phase in ("lookup + create users", "groups: POST + PATCH add members", "profile updates",
                  "deactivations", "pages of 100", "overall"):
        row = next(line for line in summary if line.startswith(phase))
        # ours req/s, p95, reference req/s, p95, their ratio and its spread, p95 over /readyz's
        assert len(re.findall(r"\d+\.\d+", row)) == 8, row
    assert "/readyz on ours (one PostgreSQL round trip)" in out
    assert "beside a 1000-user neighbour tenant, analyzed" in out
