"""What one request costs with nothing queued: each SCIM request and page of the benchmark, run
in-process (Django's test client, no HTTP, no concurrency) against the seeded ``bench_scale``
tenant, with its mean time, its queries and the time spent waiting for PostgreSQL.

    .venv/bin/python bench/single.py            # after bin/bench has seeded bench_scale
    .venv/bin/python bench/single.py --repeat 50
    .venv/bin/python bench/single.py --only lookup --profile   # where one request's time goes

Writes made here are undone: created users are deleted again and the big group's members are
put back as they were.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class QueryClock:
    """Counts the queries of one request and the time spent executing them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_scale")
    parser.add_argument("--prefix", default="scale")
    parser.add_argument("--repeat", type=int, default=20, help="runs per request (fewer for big ones)")
    parser.add_argument("--only", help="run only the requests whose label contains this text")
    parser.add_argument("--profile", action="store_true",
                        help="print each request's costliest functions (cProfile)")
    parser.add_argument("--sort", default="tottime", help="profile order: tottime or cumulative")
    parser.add_argument("--lines", type=int, default=25, help="functions the profile prints")
    args = parser.parse_args(argv)

    os.environ.update(
        DATABASE_URL=os.environ.get(
            "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{args.database}"
        ),
        DJANGO_SETTINGS_MODULE="activtrak_scim.settings",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        DATABASE_CONN_MAX_AGE="600",
        SCIM_MAX_BODY_BYTES=str(16 * 1024 * 1024),
        SCIM_RATE_LIMIT_REQUESTS="100000000",
    )
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SCIM_KEY_HMAC_SECRET", secrets.token_urlsafe(50))
    sys.path.insert(0, str(ROOT))
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    import orjson
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from directory.models import Account, AccountMember, DirectoryUser, Group
    from integrations.services import instance_create

    account = Account.objects.filter(slug=f"{args.prefix}-1").first()
    if account is None:
        sys.exit(f"No seeded tenant {args.prefix}-1 in {args.database}: run bin/bench once first.")
    _, key = instance_create(account=account, name=f"Single {secrets.token_hex(3)}")
    scim = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    admin, _ = get_user_model().objects.get_or_create(username="bench-single-admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    AccountMember.objects.update_or_create(user=admin, defaults={"account": account})
    pages = Client()
    pages.force_login(admin)

    users = DirectoryUser.objects.for_account(account)
    total = users.count()
    someone = users.order_by("?").first()
    big = Group.objects.get(account=account, display_name="All staff")
    outsiders = [
        str(v) for v in users.exclude(memberships__group=big).values_list("scim_id", flat=True)[:3000]
    ]
    members = [
        {"value": m["value"], "display": m.get("display", "")}
        for m in orjson.loads(scim.get(f"/scim/v1/Groups/{big.scim_id}").content)["members"]
    ]
    run = secrets.token_hex(3)
    created: list[str] = []

    def scim_json(method: str, path: str, body: dict):
        return getattr(scim, method)(path, orjson.dumps(body), content_type="application/scim+json")

    def user_body(i: int, title: str = "Analyst") -> dict:
        name = f"single-{run}-{i}@{args.prefix}-1.example"
        return {"schemas": [USER_SCHEMA], "userName": name, "name": {"givenName": "S", "familyName": "B"},
                "emails": [{"value": name, "type": "work", "primary": True}], "title": title, "active": True}

    def create(i: int):
        response = scim_json("post", "/scim/v1/Users", user_body(i))
        created.append(orjson.loads(response.content)["id"])
        return response

    # Users outside the big group: the first two thirds for PATCH batches, the rest for PUTs.
    patch_pool, put_pool = outsiders[: len(outsiders) * 2 // 3], outsiders[len(outsiders) * 2 // 3 :]
    batches = [patch_pool[start : start + 100] for start in range(0, len(patch_pool), 100)]

    def member_patch(op: str):
        """Adds (or removes) a different batch of up to 100 outsiders each time."""
        def send(i: int):
            chunk = batches[i % len(batches)]
            return scim_json("patch", f"/scim/v1/Groups/{big.scim_id}", {"schemas": [PATCH_OP], "Operations": [
                {"op": op, "path": "members", "value": [{"value": v} for v in chunk]}]})
        return send

    def put_one_change(i: int):
        changed = list(members)
        changed[i % len(changed)] = {"value": put_pool[i % len(put_pool)]}
        return scim_json("put", f"/scim/v1/Groups/{big.scim_id}", {
            "schemas": [GROUP_SCHEMA], "displayName": big.display_name, "members": changed})

    lookup = "/scim/v1/Users?" + urllib.parse.urlencode(
        {"filter": f'userName eq "{someone.user_name}"', "startIndex": 1, "count": 100})
    cases = [
        ("healthz (the floor's view)", 1, lambda i: scim.get("/healthz")),
        ("SCIM userName eq lookup", 1, lambda i: scim.get(lookup)),
        ("SCIM GET user", 1, lambda i: scim.get(f"/scim/v1/Users/{someone.scim_id}")),
        ("SCIM page of 100, first", 1, lambda i: scim.get("/scim/v1/Users?startIndex=1&count=100")),
        ("SCIM page of 100, last", 1, lambda i: scim.get(f"/scim/v1/Users?startIndex={total - 99}&count=100")),
        ("SCIM POST user", 1, create),
        ("SCIM PUT user", 1, lambda i: scim_json("put", f"/scim/v1/Users/{created[i]}", user_body(i, "Lead"))),
        ("SCIM PATCH user", 1, lambda i: scim_json("patch", f"/scim/v1/Users/{created[i]}", {"schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"name.givenName": "R", "title": "Manager"}}]})),
        ("SCIM deactivate user", 1, lambda i: scim_json("patch", f"/scim/v1/Users/{created[i]}", {"schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"active": False}}]})),
        ("SCIM GET /Groups?count=100", 5, lambda i: scim.get("/scim/v1/Groups?startIndex=1&count=100")),
        ("SCIM 50k group, excludedAttributes", 1, lambda i: scim.get(f"/scim/v1/Groups/{big.scim_id}?excludedAttributes=members")),
        ("SCIM 50k group, full GET", 5, lambda i: scim.get(f"/scim/v1/Groups/{big.scim_id}")),
        ("SCIM 50k group, PATCH add 100", 1, member_patch("add")),
        ("SCIM 50k group, PATCH remove 100", 1, member_patch("remove")),
        ("SCIM 50k group, PUT one change", 5, put_one_change),
        ("admin users list", 1, lambda i: pages.get("/admin/directory/directoryuser/")),
        ("admin users search", 1, lambda i: pages.get("/admin/directory/directoryuser/?q=user99999")),
        ("admin groups list", 1, lambda i: pages.get("/admin/directory/group/")),
        ("admin agents list", 1, lambda i: pages.get("/admin/directory/agent/")),
        ("admin accounts list", 1, lambda i: pages.get("/admin/directory/account/")),
        ("Users page", 1, lambda i: pages.get("/users/")),
        ("Users page, search", 1, lambda i: pages.get("/users/?q=user9999")),
        ("Users page, several agents", 1, lambda i: pages.get("/users/?status=several-agents")),
        ("Groups page", 1, lambda i: pages.get("/groups/")),
    ]
    print(f"{'request':<38} {'mean':>9} {'queries':>8} {'waiting on PostgreSQL':>22}")
    try:
        for label, divisor, request in cases:
            if args.only and args.only.lower() not in label.lower():
                continue
            runs = max(args.repeat // divisor, 2)
            request(0)  # warm: imports, plans, caches
            clock = QueryClock()
            started = time.perf_counter()
            profiler = cProfile.Profile() if args.profile else None
            with connection.execute_wrapper(clock):
                if profiler:
                    profiler.enable()
                for i in range(runs):
                    response = request(i + 1 if label == "SCIM POST user" else i)
                    if response.status_code >= 400:
                        sys.exit(f"{label}: {response.status_code} {response.content[:200]!r}")
                if profiler:
                    profiler.disable()
            mean = (time.perf_counter() - started) / runs * 1000
            print(f"{label:<38} {mean:>7.1f}ms {clock.count / runs:>8.1f} {clock.seconds / runs * 1000:>20.1f}ms",
                  flush=True)
            if profiler:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
    finally:
        scim_json("put", f"/scim/v1/Groups/{big.scim_id}", {
            "schemas": [GROUP_SCHEMA], "displayName": big.display_name, "members": members})
        for scim_id in created:
            scim.delete(f"/scim/v1/Users/{scim_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
