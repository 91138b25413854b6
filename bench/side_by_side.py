"""Ours beside django-scim2's own demo server: the same Okta-shaped client, the same machine, one
sitting, rounds alternating (ours, reference, ours, reference, ...).

    bin/bench --side-by-side                # 2 rounds each, full workload
    bin/bench --side-by-side --rounds 3
    bin/bench --side-by-side --tiny         # seconds; what CI runs
    bin/bench --side-by-side --fresh        # ours on a new, never-analyzed database

Ours is gunicorn with gunicorn.conf.py on PostgreSQL (database ``bench_side_by_side``), in the
state a running service's database is in: it already holds a neighbour tenant of 100,000 users
(seeded the first time, reused after) and PostgreSQL has statistics for every table (VACUUM
ANALYZE at the start of each sitting). Every round gets a new, empty tenant and key, so our
tenant starts each round as empty as the reference, which is ../shared/peers/django-scim2-demo
(``start.sh PORT TOKEN``): django-scim2's views and adapters, SQLite in WAL mode, a static bearer
token, a new, empty database every round.

``--fresh`` runs ours on a database dropped and created for the sitting instead. PostgreSQL has
no statistics for it until autovacuum's first ANALYZE (about a minute after the first writes),
and plans a connection prepares while its tables hold a handful of rows stay with it until then:
the state of a brand-new install's first minute, which the benchmark's phases fit inside.

The workload uses request shapes both servers accept: no displayName filter and no PATCH of a
member path filter (the reference lacks them), members added by ``add`` on ``members``. Every
answer's status is checked; a phase with a wrong answer is marked FAILED, not counted as fast.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from run import (
    GROUP_SCHEMA,
    PATCH_OP,
    ROOT,
    Client,
    Phase,
    Servers,
    database_reference_phase,
    database_url,
    django_environment,
    run_phase,
    server_env,
)
from run import user_body as okta_user_body

PEER = Path(os.environ.get("BENCH_PEER_DIR", ROOT.parent / "shared" / "peers" / "django-scim2-demo"))
ROUND_PREFIX = "bench"  # round tenants are bench-<sitting>-<round>
NEIGHBOUR_PREFIX = "neighbour"
PHASES = (
    "lookup + create users (GET + POST)",
    "groups: POST + PATCH add members",
    "profile updates (GET + PUT)",
    "deactivations (PATCH active false)",
    "pages of 100 (GET to the end)",
)


@dataclass
class Target:
    """One server under test: where its SCIM API is and the key it takes."""

    label: str
    client: Client
    base: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the two servers ------------------------------------------------------------------------


def prepare_ours(args) -> None:
    """Our database for the sitting, migrated; Django set up in this process for keys.

    By default it is the database a running service has: it already holds a neighbour tenant
    (``--neighbour-users`` users, seeded once and reused) and PostgreSQL has statistics for every
    table. ``--fresh`` drops it and starts from a new, empty, never-analyzed database instead:
    a brand-new install's first minute, before autovacuum has analyzed anything.
    """
    import psycopg

    django_environment(args)
    url = urllib.parse.urlsplit(database_url(args.database))
    name = url.path.strip("/")
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as server:
        exists = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if args.fresh and exists:
            server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if args.fresh or not exists:
            server.execute(f'CREATE DATABASE "{name}"')
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from directory.management.commands.seed_scale import Command as SeedScale
    from directory.models import Account, DirectoryUser

    call_command("migrate", verbosity=0)
    if args.fresh:
        return
    for account in Account.objects.filter(slug__startswith=f"{ROUND_PREFIX}-"):
        SeedScale.delete_account(account)  # the round tenants of earlier sittings
    neighbour = f"{NEIGHBOUR_PREFIX}-1"
    if DirectoryUser.objects.filter(account__slug=neighbour).count() != args.neighbour_users:
        print(f"Seeding the neighbour tenant ({args.neighbour_users} users) ...", flush=True)
        call_command("seed_scale", tenants=1, prefix=NEIGHBOUR_PREFIX, users=args.neighbour_users,
                     agents=args.neighbour_users, groups=100, big_group=args.neighbour_users // 10,
                     replace=True, verbosity=0, stdout=open(os.devnull, "w"))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()


def new_tenant(label: str) -> str:
    """An empty account with one SCIM key; returns the key."""
    from django.db import connection

    from directory.models import Account
    from integrations.services import instance_create

    account = Account.objects.create(slug=label, name=label)
    key = instance_create(account=account, name="Okta")[1]
    connection.close()
    return key


class Peer:
    """The reference server, started by its own start.sh on a new SQLite database."""

    def __init__(self, port: int, token: str) -> None:
        # Our gunicorn settings (GUNICORN_WORKERS, ...) are not the reference's: it keeps its own.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
        done = subprocess.run(["bash", str(PEER / "start.sh"), str(port), token],
                              capture_output=True, text=True, timeout=600, env=env)
        values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        if done.returncode != 0 or "PID" not in values:
            sys.exit(f"The reference server did not start:\n{done.stdout}\n{done.stderr}")
        self.pid = int(values["PID"])
        self.port = port
        self.base = urllib.parse.urlsplit(values["BASE_URL"]).path
        self.workdir = Path(os.readlink(f"/proc/{self.pid}/cwd"))
        self.wait_ready(port, token)

    def wait_ready(self, port: int, token: str) -> None:
        probe = Client([port], token)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if probe.call("GET", f"{self.base}/Users?count=1")[0] == 200:
                return
            time.sleep(0.2)
        self.stop()
        sys.exit(f"The reference server did not answer on port {port}.")

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{self.pid}").exists():
            time.sleep(0.1)
        if self.workdir.name.startswith("peer-django-scim2."):
            shutil.rmtree(self.workdir, ignore_errors=True)


# --- the workload ---------------------------------------------------------------------------


def user_body(name: str, given: str, title: str) -> dict:
    """What Okta sends for a user, without a password (Okta sends one only when it syncs them,
    and the reference would hash it)."""
    body = okta_user_body(name, given, title)
    del body["password"]
    return body


def fail(client: Client, message: str) -> None:
    """Count an answer with the right status but the wrong content."""
    phase = client.phase
    if phase is not None:
        phase.unexpected += 1
        if len(phase.errors) < 5:
            phase.errors.append(message)


def workload(target: Target, args, run: str) -> list[Phase]:
    client, base, c, limit = target.client, target.base, args.concurrency, args.phase_seconds
    created: dict[int, str] = {}
    names = {i: f"bench-{run}-{i}@example.com" for i in range(args.users)}
    phases = []

    def create_user(i: int) -> None:
        found = client.json("GET", f"{base}/Users?" + urllib.parse.urlencode(
            {"filter": f'userName eq "{names[i]}"', "startIndex": 1, "count": 100}))
        if found.get("totalResults") != 0:
            return fail(client, f"lookup of a new userName answered {str(found)[:200]}")
        document = client.json("POST", f"{base}/Users", user_body(names[i], f"New{i}", "Analyst"),
                               expect=(201,))
        if "id" in document:
            created[i] = document["id"]

    phases.append(run_phase(client, PHASES[0], range(args.users), create_user,
                            concurrency=c, max_seconds=limit))

    pool = [created[i] for i in sorted(created)]

    def push_group(g: int) -> None:
        group = client.json("POST", f"{base}/Groups", {
            "schemas": [GROUP_SCHEMA], "displayName": f"Bench {run} {g}", "members": []},
            expect=(201,))
        if "id" not in group:
            return
        start = (g * args.members) % max(len(pool) - args.members + 1, 1)
        members = pool[start:start + args.members]
        for at in range(0, len(members), args.patch_size):
            batch = [{"value": v} for v in members[at:at + args.patch_size]]
            client.call("PATCH", f"{base}/Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": batch}]}, expect=(200, 204))

    phases.append(run_phase(client, PHASES[1], range(args.groups), push_group,
                            concurrency=c, max_seconds=limit))

    def update_profile(i: int) -> None:
        document = client.json("GET", f"{base}/Users/{created[i]}")
        if document.get("userName") != names[i]:
            return fail(client, f"GET of user {created[i]} answered {str(document)[:200]}")
        client.call("PUT", f"{base}/Users/{created[i]}", user_body(names[i], f"New{i}", "Manager"))

    profiled = sorted(created)[: args.profiles]
    phases.append(run_phase(client, PHASES[2], profiled, update_profile,
                            concurrency=c, max_seconds=limit))

    def deactivate(i: int) -> None:
        client.call("PATCH", f"{base}/Users/{created[i]}", {"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "value": {"active": False}}]})

    leaving = sorted(created)[-args.deactivations:] if args.deactivations else []
    phases.append(run_phase(client, PHASES[3], leaving, deactivate,
                            concurrency=c, max_seconds=limit))

    def page(start: int) -> None:
        document = client.json("GET", f"{base}/Users?startIndex={start}&count=100")
        expected = min(100, len(created) - start + 1)
        if len(document.get("Resources", [])) != expected:
            fail(client, f"page at {start} held {len(document.get('Resources', []))} users, "
                         f"not {expected}")

    phases.append(run_phase(client, PHASES[4], range(1, len(created) + 1, 100), page,
                            concurrency=c, max_seconds=limit))
    return phases


def warm_up(target: Target, args) -> None:
    """Unmeasured requests so every worker has imported its code and opened its database."""
    run_phase(target.client, "warm-up", range(args.concurrency * 10),
              lambda _: target.client.call("GET", f"{target.base}/Users?count=1"),
              concurrency=args.concurrency, max_seconds=30)


# --- report ---------------------------------------------------------------------------------


def failures(phase: Phase) -> int:
    return phase.unexpected


def overall(phases: list[Phase]) -> Phase:
    total = Phase("overall")
    for phase in phases:
        total.latencies.extend(phase.latencies)
        total.statuses.update(phase.statuses)
        total.unexpected += phase.unexpected
        total.elapsed += phase.elapsed
    return total


def cell(phase: Phase) -> str:
    if failures(phase):
        return f"{'FAILED: ' + str(failures(phase)) + ' wrong':>22}"
    return f"{phase.rps:>9.1f} {phase.pct(95):>9.1f}ms"


def round_table(ours: list[Phase], peer: list[Phase], readyz: Phase) -> list[str]:
    lines = [f"{'phase':<38} {'ours req/s':>10} {'p95':>10} {'ref req/s':>10} {'p95':>10} "
             f"{'ours/ref':>9} {'p95/readyz':>10}"]
    for mine, theirs in zip([*ours, overall(ours)], [*peer, overall(peer)], strict=True):
        ratio = mine.rps / theirs.rps if theirs.rps else float("nan")
        lines.append(f"{mine.name:<38} {cell(mine)} {cell(theirs)} {ratio:>8.2f}x "
                     f"{mine.pct(95) / readyz.pct(95):>9.1f}x")
    for phase in [*ours, *peer]:
        for error in phase.errors:
            lines.append(f"  wrong answer in {phase.name}: {error}")
    return lines


def summary(rounds: list[tuple[list[Phase], list[Phase], Phase]]) -> list[str]:
    """Medians over the rounds, and the spread of the ratio (lowest to highest round)."""
    lines = [f"{'phase':<38} {'ours req/s':>10} {'p95':>8} {'ref req/s':>10} {'p95':>8} "
             f"{'ours/ref':>9} {'ratio spread':>14} {'p95/readyz':>10}"]
    readyz_p95 = statistics.median(r.pct(95) for _, _, r in rounds)
    for index, name in enumerate([*PHASES, "overall"]):
        pairs = [((ours + [overall(ours)])[index], (peer + [overall(peer)])[index])
                 for ours, peer, _ in rounds]
        if any(failures(m) or failures(t) for m, t in pairs):
            lines.append(f"{name:<38} FAILED in at least one round (see the round tables)")
            continue
        ours_rps = statistics.median(m.rps for m, _ in pairs)
        peer_rps = statistics.median(t.rps for _, t in pairs)
        ours_p95 = statistics.median(m.pct(95) for m, _ in pairs)
        peer_p95 = statistics.median(t.pct(95) for _, t in pairs)
        ratios = [m.rps / t.rps for m, t in pairs if t.rps]
        lines.append(
            f"{name:<38} {ours_rps:>10.1f} {ours_p95:>6.1f}ms {peer_rps:>10.1f} {peer_p95:>6.1f}ms "
            f"{ours_rps / peer_rps:>8.2f}x {f'{min(ratios):.2f}-{max(ratios):.2f}x':>14} "
            f"{ours_p95 / readyz_p95:>9.1f}x")
    readyz = [r for _, _, r in rounds]
    lines.append(
        f"/readyz on ours (one PostgreSQL round trip): {statistics.median(r.rps for r in readyz):.1f} "
        f"req/s, p95 {readyz_p95:.1f} ms (median of {len(readyz)} rounds; p95 "
        f"{min(r.pct(95) for r in readyz):.1f}-{max(r.pct(95) for r in readyz):.1f} ms)")
    return lines


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side-by-side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", default="bench_side_by_side")
    parser.add_argument("--port", type=int, default=8700, help="our server's port")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per server, alternating")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--users", type=int, default=2000, help="looked up, then created")
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--members", type=int, default=200, help="members per group")
    parser.add_argument("--patch-size", type=int, default=100, help="members per PATCH")
    parser.add_argument("--profiles", type=int, default=1000, help="profile updates")
    parser.add_argument("--deactivations", type=int, default=500)
    parser.add_argument("--floor-requests", type=int, default=1000, help="/readyz requests a round")
    parser.add_argument("--phase-seconds", type=float, default=300.0, help="time limit per phase")
    parser.add_argument("--neighbour-users", type=int, default=100_000,
                        help="users of the tenant already in our database")
    parser.add_argument("--fresh", action="store_true",
                        help="ours on a new, empty, never-analyzed database (a new install)")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run for CI")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rounds, args.users, args.groups, args.members, args.patch_size = 1, 40, 2, 20, 10
        args.profiles, args.deactivations, args.floor_requests = 20, 10, 50
        args.concurrency, args.phase_seconds = min(args.concurrency, 4), 30.0
        args.neighbour_users = min(args.neighbour_users, 1000)

    prepare_ours(args)
    env = server_env(args)
    workers = env.get("GUNICORN_WORKERS", str(os.cpu_count() * 2 + 1))
    sitting = secrets.token_hex(3)
    print(f"Starting our gunicorn (gunicorn.conf.py) on {args.port} ...", flush=True)
    servers = Servers(args, [args.port], env)
    rounds: list[tuple[list[Phase], list[Phase], Phase]] = []
    lines: list[str] = []
    try:
        for number in range(1, args.rounds + 1):
            key = new_tenant(f"{ROUND_PREFIX}-{sitting}-{number}")
            ours = Target("ours", Client([args.port], key), "/scim/v1")
            warm_up(ours, args)
            readyz = database_reference_phase(ours.client, args)
            ours_phases = workload(ours, args, f"{sitting}-{number}")
            print(f"round {number}: ours done", flush=True)

            token = secrets.token_urlsafe(24)
            peer = Peer(free_port(), token)
            try:
                reference = Target("reference", Client([peer.port], token), peer.base)
                warm_up(reference, args)
                peer_phases = workload(reference, args, f"{sitting}-{number}")
            finally:
                peer.stop()
            print(f"round {number}: reference done", flush=True)
            rounds.append((ours_phases, peer_phases, readyz))
            lines += [f"Round {number} of {args.rounds}:",
                      *round_table(ours_phases, peer_phases, readyz), ""]
    finally:
        servers.stop()

    header = [
        f"Side by side, sitting {sitting}: {args.rounds} round(s) each, alternating (ours, "
        f"reference, ...), one client, concurrency {args.concurrency}, one connection per "
        f"request, {os.cpu_count()} CPUs.",
        f"ours: gunicorn.conf.py ({workers} workers) on PostgreSQL, a new empty tenant each round "
        f"(database {args.database}, "
        + ("new and empty this sitting, never analyzed" if args.fresh else
           f"beside a {args.neighbour_users}-user neighbour tenant, analyzed")
        + "); every request checks the hashed key, "
        "the rate limit and writes events.",
        "reference: django-scim2 demo (start.sh: gunicorn, sync workers, SQLite WAL, static token, "
        "no tenancy), a new empty database each round.",
        f"workload per round: lookup + create {args.users} users; {args.groups} groups of "
        f"{args.members} members pushed by PATCH add of {args.patch_size}; {args.profiles} profile "
        f"GET + PUT; {args.deactivations} deactivations; pages of 100 to the end.",
        "req/s and p95 per phase; ours/ref = ours req/s divided by the reference's; "
        "p95/readyz = our p95 over our /readyz p95 in the same round.",
        "",
    ]
    output = header + lines + ["Summary (medians over the rounds):", *summary(rounds)]
    print("\n".join(output), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"lines": output, "rounds": [
            {"readyz": {"rps": r.rps, "p95_ms": r.pct(95)},
             "ours": [{"name": p.name, "rps": p.rps, "p95_ms": p.pct(95), "failures": failures(p)}
                      for p in o],
             "reference": [{"name": p.name, "rps": p.rps, "p95_ms": p.pct(95),
                            "failures": failures(p)} for p in t]}
            for o, t, r in rounds]}, indent=2))
    return 0
