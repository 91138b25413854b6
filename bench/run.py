"""The SCIM benchmark: gunicorn (production config) on PostgreSQL, an Okta-like workload, and a
floor measured in the same run.

    .venv/bin/python bench/run.py                     # full scale: two 100k-user tenants
    .venv/bin/python bench/run.py --tiny              # seconds; what CI runs
    .venv/bin/python bench/run.py --hosts 2           # two app servers, load spread over both
    .venv/bin/python bench/run.py --scale-out         # 1 host vs 2 hosts, one core each

Every request goes to 127.0.0.1; every loop is bounded in count and in time. The database
(default ``bench_scale``) is created, migrated and seeded when missing and reused otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MIB = 1024 * 1024

# The targets, as multiples of the floor measured in the same run.
WORKLOAD_RPS_RATIO = 0.5
LOOKUP_P95_RATIO = 2.0
BIG_GROUP_WRITE_P95_RATIO = 10.0
FULL_GET_RSS_MIB = 256


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    unexpected: int = 0  # answers with a status the caller did not expect
    elapsed: float = 0.0
    note: str = ""

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


class Client:
    """Plain HTTP/1.1 over loopback, one connection per request (gunicorn's sync workers close
    connections anyway), round-robin over the app servers."""

    def __init__(self, ports: list[int], key: str = "") -> None:
        self.ports = ports
        self.key = key
        self.turn = itertools.count()
        self.phase: Phase | None = None

    def call(self, method: str, path: str, body=None, *, expect=(200,), headers=None,
             key: str | None = None, port: int | None = None) -> tuple[int, bytes]:
        port = port or self.ports[next(self.turn) % len(self.ports)]
        sent = {"Host": "127.0.0.1", "Accept": "application/scim+json"}
        token = self.key if key is None else key
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/scim+json"
        sent.update(headers or {})
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            content = response.read()
            status = response.status
        except OSError as exc:
            status, content = 0, str(exc).encode()
        finally:
            connection.close()
        elapsed = time.perf_counter() - started
        if self.phase is not None:
            self.phase.latencies.append(elapsed)
            self.phase.statuses[status] += 1
            if status not in expect:
                self.phase.unexpected += 1
            if status not in expect and len(self.phase.errors) < 5:
                self.phase.errors.append(f"{method} {path[:80]} -> {status} {content[:200]!r}")
        return status, content

    def json(self, *args, **kwargs) -> dict:
        status, content = self.call(*args, **kwargs)
        try:
            return json.loads(content) if content else {}
        except ValueError:
            return {}


def run_phase(client: Client, name: str, items: Iterable, work: Callable, *, concurrency: int,
              max_seconds: float) -> Phase:
    """Run ``work(item)`` for each item on ``concurrency`` threads until done or out of time."""
    phase = Phase(name)
    client.phase = phase
    source = iter(items)
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                item = next(source, StopIteration)
            if item is StopIteration:
                return
            try:
                work(item)
            except Exception as exc:  # a broken response must not hang the benchmark
                if len(phase.errors) < 5:
                    phase.errors.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - started
    client.phase = None
    if time.monotonic() >= deadline:
        phase.note = f"stopped at the {max_seconds:.0f} s limit"
    return phase


# --- the app servers ------------------------------------------------------------------------


def database_url(name: str) -> str:
    return os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{name}")


def server_env(args) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(args.database),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],
        SCIM_KEY_HMAC_SECRET=os.environ["SCIM_KEY_HMAC_SECRET"],
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        # A PUT of a 50,000-member list is about 2.5 MB; the default limit is 1 MiB.
        SCIM_MAX_BODY_BYTES=env.get("SCIM_MAX_BODY_BYTES", str(16 * MIB)),
        # The per-key limit stays on (its query is part of every request's cost) but high
        # enough that the benchmark measures the server rather than the throttle.
        SCIM_RATE_LIMIT_REQUESTS=env.get("BENCH_RATE_LIMIT_REQUESTS", "100000000"),
    )
    return env


class Servers:
    """gunicorn with gunicorn.conf.py, one per port; optionally each pinned to one CPU."""

    def __init__(self, args, ports: list[int], env: dict, pin: bool = False) -> None:
        self.processes: list[subprocess.Popen] = []
        self.log = open(ROOT / "bench" / "gunicorn.log", "ab")
        for port in ports:
            # A server left running on the port (an interrupted run) would answer instead, with
            # old code and an old secret.
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    sys.exit(f"Port {port} is already in use; stop what runs there or pass --port.")
        for number, port in enumerate(ports):
            command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "activtrak_scim.wsgi",
                       "-c", str(ROOT / "gunicorn.conf.py")]
            if pin:
                command = ["taskset", "-c", str(number % os.cpu_count()), *command]
            self.processes.append(subprocess.Popen(
                command, cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                stdout=self.log, stderr=self.log, start_new_session=True,
            ))
        self.ports = ports
        for port in ports:
            self.wait_ready(port)

    def wait_ready(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(0.2)
        self.stop()
        sys.exit(f"gunicorn did not start on port {port}; see bench/gunicorn.log")

    def workers(self) -> list[int]:
        pids = []
        for process in self.processes:
            master = process.pid  # taskset execs gunicorn in place, so this is the master
            try:
                children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
            except OSError:
                children = []
            pids.extend(int(pid) for pid in children)
        return pids

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.log.close()


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Samples every worker's RSS while a phase runs and keeps the largest."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = max((rss_kib(pid) for pid in pids), default=0)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.stopped.wait(0.005):
            for pid in self.pids:
                self.peak = max(self.peak, rss_kib(pid))

    def __enter__(self) -> MemoryWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()


# --- data: seed or reuse, keys, admin login -------------------------------------------------


def django_environment(args) -> None:
    """This process's settings for seeding and issuing keys; the servers inherit the secrets."""
    os.environ.update(
        DATABASE_URL=database_url(args.database), DJANGO_DEBUG="true",
        DJANGO_SETTINGS_MODULE="activtrak_scim.settings",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        # Keys are digested under this secret: the servers must use the same one.
        SCIM_KEY_HMAC_SECRET=os.environ.get("SCIM_KEY_HMAC_SECRET") or secrets.token_urlsafe(50),
    )


def prepare_database(args) -> dict:
    """Create, migrate and seed the database when needed; return keys and ids for the run."""
    django_environment(args)
    ensure_database(args.database)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from directory.models import Account, AccountMember, DirectoryUser, Group
    from integrations.services import instance_create

    call_command("migrate", verbosity=0)
    from integrations.models import RequestCounter

    # A failed earlier run may have left loopback over the failed-authentication limit.
    RequestCounter.objects.all().delete()
    slugs = [f"{args.prefix}-1", f"{args.prefix}-2"]
    seeded = (
        Account.objects.filter(slug__in=slugs).count() == 2
        and DirectoryUser.objects.filter(account__slug=slugs[0]).count() >= args.users
        and Group.objects.filter(account__slug=slugs[0]).count() >= args.groups
    )
    if args.reseed or not seeded:
        print(f"Seeding {args.prefix}-1 and -2 ({args.users} users each) ...", flush=True)
        started = time.monotonic()
        call_command("seed_scale", prefix=args.prefix, users=args.users, agents=args.agents,
                     groups=args.groups, big_group=args.big_group, replace=True, verbosity=0,
                     stdout=open(os.devnull, "w"))
        print(f"Seeded in {time.monotonic() - started:.1f} s.", flush=True)
    else:
        print(f"Reusing the seeded tenants {slugs[0]} and {slugs[1]} in {args.database}.", flush=True)
    accounts = [Account.objects.get(slug=slug) for slug in slugs]
    run = secrets.token_hex(3)
    keys = [instance_create(account=a, name=f"Bench {run}")[1] for a in accounts]
    big = Group.objects.get(account=accounts[0], display_name="All staff")
    users = DirectoryUser.objects.for_account(accounts[0])
    big_size = big.memberships.count()
    outsiders = list(
        users.exclude(memberships__group=big).order_by("id").values_list("scim_id", flat=True)[:3000]
    )
    sample = list(users.order_by("?").values_list("user_name", "scim_id")[:2000])
    # A superuser for the admin pages, who also administers the first tenant.
    User = get_user_model()
    password = secrets.token_urlsafe(16)
    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"email": "bench-admin@example.com"}
    )
    admin.email = "bench-admin@example.com"
    admin.is_staff = admin.is_superuser = admin.is_active = True
    admin.set_password(password)
    admin.save()
    AccountMember.objects.update_or_create(user=admin, defaults={"account": accounts[0]})
    pages = user_facing_pages()
    info = {
        "run": run,
        "keys": keys,
        "account_ids": [a.pk for a in accounts],
        "domain": f"{slugs[0]}.example",
        "big_group": str(big.scim_id),
        "big_group_size": big_size,
        "outsiders": [str(u) for u in outsiders],
        "sample": [(name, str(scim_id)) for name, scim_id in sample],
        "total_users": users.count(),
        "admin_password": password,
        "pages": pages,
    }
    connection.close()
    return info


def ensure_database(name: str) -> None:
    import psycopg

    url = urllib.parse.urlsplit(database_url(name))
    name = url.path.strip("/")
    server = url._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def user_facing_pages() -> list[tuple[str, str]]:
    """The admin list pages, and the product's Users and Groups pages if they exist yet."""
    from django.urls import NoReverseMatch, reverse

    pages = [
        ("admin users list", "/admin/directory/directoryuser/"),
        ("admin users search", "/admin/directory/directoryuser/?q=user99999"),
        ("admin groups list", "/admin/directory/group/"),
        ("admin agents list", "/admin/directory/agent/"),
        ("admin events list", "/admin/integrations/provisioningevent/"),
    ]
    for label, names in (("Users page", ("directory:user-list", "directory:users", "users")),
                         ("Groups page", ("directory:group-list", "directory:groups", "groups"))):
        for name in names:
            try:
                pages.append((label, reverse(name)))
                break
            except NoReverseMatch:
                continue
    return pages


def admin_cookie(port: int, password: str) -> str:
    """Sign in to /admin/ as the bench superuser; returns the Cookie header."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/admin/login/", headers={"Host": "127.0.0.1"})
    response = connection.getresponse()
    page = response.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    connection.close()
    if not (csrf_cookie and token):
        return ""
    form = urllib.parse.urlencode({
        "username": "bench-admin", "password": password,
        "csrfmiddlewaretoken": token.group(1), "next": "/admin/",
    })
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/admin/login/", body=form, headers={
        "Host": "127.0.0.1", "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf_cookie.group(1)}", "Referer": f"http://127.0.0.1:{port}/admin/login/",
    })
    response = connection.getresponse()
    response.read()
    session = re.search(r"sessionid=([^;]+)", ", ".join(response.headers.get_all("Set-Cookie") or []))
    connection.close()
    return f"sessionid={session.group(1)}" if session else ""


# --- the workload ---------------------------------------------------------------------------


def user_body(name: str, given: str, title: str = "Analyst") -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": given, "familyName": "Bench"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"{given} Bench",
        "title": title,
        "active": True,
        "password": secrets.token_urlsafe(12),
    }


def plain_get_phase(client: Client, args, name: str, path: str) -> Phase:
    """``args.floor_requests`` GETs of ``path`` without a key, at the run's concurrency."""
    return run_phase(client, name, range(args.floor_requests),
                     lambda _: client.call("GET", path, key=""),
                     concurrency=args.concurrency, max_seconds=args.phase_seconds)


def floor_phase(client: Client, args) -> Phase:
    return plain_get_phase(client, args, "floor: GET /healthz", "/healthz")


def database_reference_phase(client: Client, args) -> Phase:
    """No target: what a request that makes one PostgreSQL round trip and nothing else reaches
    under the same gunicorn and concurrency, beside the floor that makes none."""
    return plain_get_phase(client, args, "reference: GET /readyz (SELECT 1)", "/readyz")


def warm_up(client: Client, args) -> None:
    """Unmeasured requests so every worker has imported its code and opened its connection."""
    paths = ["/healthz", "/scim/v1/Users?count=1", "/scim/v1/Groups?count=1&excludedAttributes=members"]
    run_phase(client, "warm-up", range(args.concurrency * 10 * len(paths)),
              lambda i: client.call("GET", paths[i % len(paths)]),
              concurrency=args.concurrency, max_seconds=30)


def okta_workload(client: Client, args, info: dict) -> list[Phase]:
    c, limit = args.concurrency, args.phase_seconds
    run, domain = info["run"], info["domain"]
    created: dict[int, str] = {}
    phases = []

    def connection_test(_):
        client.call("GET", "/scim/v1/Users?startIndex=1&count=2")
        client.call("GET", "/scim/v1/Groups?startIndex=1&count=100")

    phases.append(run_phase(client, "okta: connection test", range(args.rounds), connection_test,
                            concurrency=c, max_seconds=limit))

    def create_user(i):
        name = f"bench-{run}-{i}@{domain}"
        found = client.json("GET", "/scim/v1/Users?" + urllib.parse.urlencode(
            {"filter": f'userName eq "{name}"', "startIndex": 1, "count": 100}))
        if found.get("totalResults") == 0:
            document = client.json("POST", "/scim/v1/Users", user_body(name, f"New{i}"),
                                   expect=(201,))
            if "id" in document:
                created[i] = document["id"]

    phases.append(run_phase(client, "okta: lookup + create users", range(args.new_users),
                            create_user, concurrency=c, max_seconds=limit))

    groups: dict[int, str] = {}

    def create_group(g):
        document = client.json("POST", "/scim/v1/Groups", {
            "schemas": [GROUP_SCHEMA], "displayName": f"Bench {run} {g}", "members": []},
            expect=(201,))
        if "id" in document:
            groups[g] = document["id"]

    phases.append(run_phase(client, "okta: create groups", range(args.new_groups), create_group,
                            concurrency=c, max_seconds=limit))

    pool = list(created.values()) + [scim_id for _, scim_id in info["sample"]]
    batches = [(g, b) for b in range(args.batches) for g in sorted(groups)]

    def patch_batch(item):
        g, b = item
        start = (g * 37 + b * 100) % max(len(pool) - 100, 1)
        members = [{"value": v} for v in pool[start:start + 100]]
        client.call("PATCH", f"/scim/v1/Groups/{groups[g]}", {
            "schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members}]},
            expect=(200, 204))

    phases.append(run_phase(client, "okta: group PATCH batches of 100", batches, patch_batch,
                            concurrency=c, max_seconds=limit))

    def get_and_put_group(g):
        document = client.json("GET", f"/scim/v1/Groups/{groups[g]}")
        members = [{"value": m["value"]} for m in document.get("members", [])][1:]
        client.call("PUT", f"/scim/v1/Groups/{groups[g]}", {
            "schemas": [GROUP_SCHEMA], "displayName": document.get("displayName", f"Bench {run} {g}"),
            "members": members})

    phases.append(run_phase(client, "okta: group GET + PUT full list", sorted(groups),
                            get_and_put_group, concurrency=c, max_seconds=limit))

    def profile_put(i):
        client.json("GET", f"/scim/v1/Users/{created[i]}")
        client.call("PUT", f"/scim/v1/Users/{created[i]}",
                    user_body(f"bench-{run}-{i}@{domain}", f"New{i}", title="Manager"))

    phases.append(run_phase(client, "okta: profile GET + PUT", sorted(created), profile_put,
                            concurrency=c, max_seconds=limit))

    def profile_patch(i):
        client.call("PATCH", f"/scim/v1/Users/{created[i]}", {"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "value": {"name.givenName": f"Renamed{i}", "title": "Lead"}}]})

    phases.append(run_phase(client, "okta: profile PATCH", sorted(created), profile_patch,
                            concurrency=c, max_seconds=limit))

    def deactivate(i):
        client.call("PATCH", f"/scim/v1/Users/{created[i]}", {"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "value": {"active": False}}]})

    phases.append(run_phase(client, "okta: deactivate", sorted(created)[::2], deactivate,
                            concurrency=c, max_seconds=limit))

    total = info["total_users"] + len(created)
    starts = list(range(1, total + 1, 100))[: args.import_pages]
    phases.append(run_phase(
        client, "okta: import GET /Users count=100", starts,
        lambda s: client.call("GET", f"/scim/v1/Users?startIndex={s}&count=100"),
        concurrency=c, max_seconds=limit))
    return phases


def scale_phases(client: Client, servers: Servers, args, info: dict) -> tuple[list, dict]:
    c, limit, n = args.concurrency, args.phase_seconds, args.rounds
    big = info["big_group"]
    sample = info["sample"]
    results, extra = [], {}

    results.append(run_phase(client, "scale: userName eq lookup", sample[:n * 2], lambda item: (
        client.call("GET", "/scim/v1/Users?" + urllib.parse.urlencode(
            {"filter": f'userName eq "{item[0]}"'}))), concurrency=c, max_seconds=limit))
    results.append(run_phase(client, "scale: page of 100, first", range(n), lambda _: client.call(
        "GET", "/scim/v1/Users?startIndex=1&count=100"), concurrency=c, max_seconds=limit))
    last = max(info["total_users"] - 99, 1)
    results.append(run_phase(client, "scale: page of 100, last", range(n), lambda _: client.call(
        "GET", f"/scim/v1/Users?startIndex={last}&count=100"), concurrency=c, max_seconds=limit))
    results.append(run_phase(client, "scale: big group, excludedAttributes=members", range(n),
                             lambda _: client.call(
                                 "GET", f"/scim/v1/Groups/{big}?excludedAttributes=members"),
                             concurrency=c, max_seconds=limit))

    baseline = max((rss_kib(pid) for pid in servers.workers()), default=0)
    with MemoryWatch(servers.workers()) as watch:
        full = run_phase(client, "scale: big group, full GET", range(args.full_gets), lambda _: (
            client.call("GET", f"/scim/v1/Groups/{big}")), concurrency=1, max_seconds=limit)
    extra["rss_baseline_mib"] = baseline / 1024
    extra["rss_peak_mib"] = watch.peak / 1024
    full.note = f"peak worker RSS {watch.peak / 1024:.0f} MiB (idle {baseline / 1024:.0f} MiB)"
    results.append(full)

    outsiders = info["outsiders"]
    chunks = [outsiders[i:i + 100] for i in range(0, len(outsiders), 100)][: max(n // 4, 2)]

    def patch(op):
        def send(chunk):
            body = {"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": v} for v in chunk]}
                if op == "add" else
                {"op": "remove", "path": "members", "value": [{"value": v} for v in chunk]}]}
            client.call("PATCH", f"/scim/v1/Groups/{big}", body, expect=(200, 204))
        return send

    results.append(run_phase(client, "scale: big group, PATCH add 100", chunks, patch("add"),
                             concurrency=c, max_seconds=limit))
    results.append(run_phase(client, "scale: big group, PATCH remove 100", chunks,
                             patch("remove"), concurrency=c, max_seconds=limit))

    saved_phase, client.phase = client.phase, None
    document = client.json("GET", f"/scim/v1/Groups/{big}")
    client.phase = saved_phase
    members = [{"value": m["value"], "display": m.get("display", "")}
               for m in document.get("members", [])]
    spare = outsiders[-args.full_puts:] if outsiders else []

    def put_one_change(k):
        changed = list(members)
        if changed and k < len(spare):
            changed[k] = {"value": spare[k]}
        client.call("PUT", f"/scim/v1/Groups/{big}", {
            "schemas": [GROUP_SCHEMA], "displayName": "All staff", "members": changed})

    results.append(run_phase(client, f"scale: big group, PUT {len(members)} with one change",
                             range(args.full_puts), put_one_change, concurrency=1,
                             max_seconds=limit))
    # Put the big group back as seeded, outside any measurement.
    client.call("PUT", f"/scim/v1/Groups/{big}", {
        "schemas": [GROUP_SCHEMA], "displayName": "All staff", "members": members})

    cookie = admin_cookie(client.ports[0], info["admin_password"])
    if not cookie:
        extra["admin"] = "could not sign in to /admin/"
    for label, path in info["pages"]:
        results.append(run_phase(client, f"pages: {label}", range(max(n // 4, 3)), lambda _, p=path:
                                 client.call("GET", p, key="", headers={"Cookie": cookie}),
                                 concurrency=c, max_seconds=limit))
    return results, extra


def tenant_checks(client: Client, info: dict) -> list[str]:
    """The second tenant's key must not see the first tenant's users or groups."""
    name, scim_id = info["sample"][0]
    other = info["keys"][1]
    found = client.json("GET", "/scim/v1/Users?" + urllib.parse.urlencode(
        {"filter": f'userName eq "{name}"'}), key=other)
    status, _ = client.call("GET", f"/scim/v1/Users/{scim_id}", key=other, expect=(404,))
    group_status, _ = client.call("GET", f"/scim/v1/Groups/{info['big_group']}", key=other,
                                  expect=(404,))
    ok = found.get("totalResults") == 0 and status == 404 and group_status == 404
    return [f"tenant scoping: second tenant's key sees none of the first's rows: {verdict(ok)}"]


# --- scale-out ------------------------------------------------------------------------------


def scale_out(args, info: dict, env: dict) -> list[str]:
    """Throughput of one host against two (each pinned to one CPU), then cross-host checks."""
    lines = []
    mix_runs = {}
    for hosts in (1, 2):
        ports = [args.port + 10 + i for i in range(hosts)]
        servers = Servers(args, ports, {**env, "GUNICORN_WORKERS": str(args.scale_out_workers)},
                          pin=True)
        try:
            client = Client(ports, info["keys"][0])
            sample = info["sample"]
            items = list(range(args.rounds * 4))

            def mixed(i, client=client, sample=sample):
                name, scim_id = sample[i % len(sample)]
                client.call("GET", "/scim/v1/Users?" + urllib.parse.urlencode(
                    {"filter": f'userName eq "{name}"'}))
                client.call("GET", f"/scim/v1/Users/{scim_id}")
                client.call("GET", f"/scim/v1/Users?startIndex={1 + (i * 100) % 50000}&count=100")

            phase = run_phase(client, f"scale-out: {hosts} host(s)", items, mixed,
                              concurrency=args.concurrency * hosts, max_seconds=args.phase_seconds)
            mix_runs[hosts] = phase
            if hosts == 2:
                lines.extend(cross_host_checks(client, ports, info))
        finally:
            servers.stop()
    one, two = mix_runs[1], mix_runs[2]
    ratio = two.rps / one.rps if one.rps else 0
    lines.insert(0, f"scale-out: 1 host {one.rps:.0f} req/s (p95 {one.pct(95):.0f} ms), "
                    f"2 hosts {two.rps:.0f} req/s (p95 {two.pct(95):.0f} ms): x{ratio:.2f} "
                    f"{verdict(ratio > 1.1)}")
    return lines


def cross_host_checks(client: Client, ports: list[int], info: dict) -> list[str]:
    """Revocation and last-used seen the same way by both hosts: both live in PostgreSQL."""
    import django  # noqa: F401  (set up by prepare_database)

    from directory.models import Account
    from integrations.models import ApiKey
    from integrations.services import api_key_revoke, instance_create

    account = Account.objects.get(pk=info["account_ids"][0])
    instance, key = instance_create(account=account, name=f"Bench {info['run']} scale-out")
    before = [client.call("GET", "/scim/v1/Users?count=1", key=key, port=p)[0] for p in ports]
    used = ApiKey.objects.filter(instance=instance).values_list("last_used_at", flat=True).first()
    api_key_revoke(instance=instance)
    after = [client.json("GET", "/scim/v1/Users?count=1", key=key, port=p, expect=(401,))
             for p in ports]
    revoked = all("revoked" in (a.get("detail") or "") for a in after)
    from django.db import connection

    connection.close()
    return [
        f"cross-host: a new key works on both hosts {before}: {verdict(before == [200, 200])}",
        f"cross-host: last_used_at written by the hosts: {verdict(used is not None)}",
        f"cross-host: key revoked in the database is refused as revoked by both: {verdict(revoked)}",
    ]


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(floor: Phase, phases: list[Phase], extra: dict) -> list[str]:
    lines = [
        f"{'phase':<48} {'reqs':>6} {'req/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'x floor p95':>11} {'x floor rps':>11}  target",
    ]

    def row(phase: Phase, target: str = "") -> str:
        bad = sum(v for k, v in phase.statuses.items() if k == 0 or k >= 400)
        return (
            f"{phase.name[:48]:<48} {len(phase.latencies):>6} {phase.rps:>8.1f} "
            f"{phase.pct(50):>6.1f}ms {phase.pct(95):>6.1f}ms {phase.pct(99):>6.1f}ms "
            f"{phase.pct(95) / floor.pct(95):>11.1f} {phase.rps / floor.rps:>11.2f}  {target}"
            + (f"  [{bad} errors]" if bad else "") + (f"  ({phase.note})" if phase.note else "")
        )

    lines.append(row(floor, "(the floor)"))
    workload = [p for p in phases if p.name.startswith("okta:")]
    for phase in phases:
        target = ""
        ratio95 = phase.pct(95) / floor.pct(95)
        if phase.name.startswith(("scale: userName", "scale: page")):
            target = f"p95 <= {LOOKUP_P95_RATIO:g}x floor: {verdict(ratio95 <= LOOKUP_P95_RATIO)}"
        elif phase.name.startswith(("scale: big group, PATCH", "scale: big group, PUT")):
            target = (f"p95 <= {BIG_GROUP_WRITE_P95_RATIO:g}x floor: "
                      f"{verdict(ratio95 <= BIG_GROUP_WRITE_P95_RATIO)}")
        elif phase.name == "scale: big group, full GET":
            peak = extra.get("rss_peak_mib", 0)
            target = f"RSS <= {FULL_GET_RSS_MIB} MiB: {verdict(0 < peak <= FULL_GET_RSS_MIB)}"
        lines.append(row(phase, target))
    if workload:
        requests = sum(len(p.latencies) for p in workload)
        elapsed = sum(p.elapsed for p in workload)
        rps = requests / elapsed if elapsed else 0
        ratio = rps / floor.rps
        lines.append(
            f"Okta-like workload overall: {requests} requests in {elapsed:.1f} s = {rps:.1f} req/s "
            f"= {ratio:.2f}x the floor's {floor.rps:.1f} req/s; target >= {WORKLOAD_RPS_RATIO}x: "
            f"{verdict(ratio >= WORKLOAD_RPS_RATIO)}"
        )
    for phase in phases:
        for error in phase.errors:
            lines.append(f"  error in {phase.name}: {error}")
    lines.append("Queries per request are constant in the tenant's size: pinned by "
                 "tests/scim/test_query_counts.py.")
    return lines


def main(argv: list[str] | None = None) -> int:
    if "--side-by-side" in (sys.argv[1:] if argv is None else argv):
        import side_by_side

        return side_by_side.main(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_scale")
    parser.add_argument("--prefix", default="scale")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=150_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--big-group", type=int, default=50_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--hosts", type=int, default=1, help="app servers, load spread over all")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--phase-seconds", type=float, default=60.0, help="time limit per phase")
    parser.add_argument("--floor-requests", type=int, default=2000)
    parser.add_argument("--new-users", type=int, default=400)
    parser.add_argument("--new-groups", type=int, default=10)
    parser.add_argument("--batches", type=int, default=5, help="PATCH batches of 100 per group")
    parser.add_argument("--import-pages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200, help="requests per scale phase")
    parser.add_argument("--full-gets", type=int, default=5)
    parser.add_argument("--full-puts", type=int, default=5)
    parser.add_argument("--scale-out", action="store_true",
                        help="also compare one host with two, each pinned to one CPU")
    parser.add_argument("--scale-out-workers", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run for CI")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.tiny:
        args.database = os.environ.get("BENCH_DATABASE", "bench_tiny")
        args.users, args.agents, args.groups, args.big_group = 300, 450, 10, 150
        args.floor_requests, args.new_users, args.new_groups, args.batches = 100, 20, 2, 2
        args.rounds, args.full_gets, args.full_puts, args.phase_seconds = 12, 2, 2, 5.0
        args.concurrency = min(args.concurrency, 4)

    info = prepare_database(args)
    env = server_env(args)
    ports = [args.port + i for i in range(args.hosts)]
    print(f"Starting gunicorn (gunicorn.conf.py) on {', '.join(map(str, ports))} ...", flush=True)
    servers = Servers(args, ports, env)
    try:
        client = Client(ports, info["keys"][0])
        warm_up(client, args)
        floor = floor_phase(client, args)
        print(f"floor: {floor.rps:.0f} req/s, p95 {floor.pct(95):.1f} ms", flush=True)
        phases = [database_reference_phase(client, args)]
        phases += okta_workload(client, args, info)
        print("workload done", flush=True)
        more, extra = scale_phases(client, servers, args, info)
        phases += more
        checks = tenant_checks(client, info)
    finally:
        servers.stop()
    lines = [
        f"SCIM benchmark, run {info['run']}: {args.hosts} host(s) x "
        f"{env.get('GUNICORN_WORKERS', str(os.cpu_count() * 2 + 1))} gunicorn workers, "
        f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, {info['total_users']} users "
        f"in the tenant, big group {info['big_group_size']} members",
        *report(floor, phases, extra),
        *checks,
    ]
    if args.scale_out:
        lines.extend(scale_out(args, info, env))
    print("\n".join(lines), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "floor": {"rps": floor.rps, "p95_ms": floor.pct(95)},
            "phases": [{"name": p.name, "requests": len(p.latencies), "rps": p.rps,
                        "p50_ms": p.pct(50), "p95_ms": p.pct(95), "p99_ms": p.pct(99),
                        "errors": sum(v for k, v in p.statuses.items() if k == 0 or k >= 400)}
                       for p in phases],
            "extra": extra, "lines": lines,
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
