"""Seed large tenants for the benchmark: users, emails, agents, groups and one huge group.

Rows are generated inside PostgreSQL (``INSERT … SELECT … generate_series``), so 100,000 users
take seconds rather than the hours the SCIM API would; the API is what the benchmark measures.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from directory.models import Account
from integrations.services import instance_create

USER_SQL = """
INSERT INTO directory_directoryuser (
    scim_id, user_name, external_id, given_name, family_name, middle_name, honorific_prefix,
    honorific_suffix, formatted_name, display_name, nick_name, profile_url, title, user_type,
    preferred_language, locale, time_zone, email, phone_numbers, addresses, other_attributes,
    enterprise, is_active, created_at, last_modified_at, account_id, agent_count,
    counted_agent_count
)
SELECT gen_random_uuid(), 'user' || i || '@' || %(domain)s, 'okta-' || i, 'Given' || i,
       'Family' || i, '', '', '', 'Given' || i || ' Family' || i, 'Given' || i || ' Family' || i,
       '', '', CASE WHEN i %% 7 = 0 THEN 'Engineer' ELSE 'Analyst' END, '', '', '', '',
       'user' || i || '@' || %(domain)s, '[]', '[]', '{}', '{}', true, now(), now(), %(account)s,
       0, 0  -- the agent triggers count the agents inserted below
FROM generate_series(1, %(users)s) AS i
"""

EMAIL_SQL = """
INSERT INTO directory_useremail (value, type, display, is_primary, account_id, user_id)
SELECT u.user_name, 'work', '', true, u.account_id, u.id
FROM directory_directoryuser u WHERE u.account_id = %(account)s ORDER BY u.id
"""

# One agent per user on a laptop; the rest are second machines of the first users, and every
# tenth of those is not matched to anyone yet.
AGENT_SQL = """
WITH numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n
    FROM directory_directoryuser WHERE account_id = %(account)s
)
INSERT INTO directory_agent (
    public_id, logon_name, logon_user, logon_domain, machine_name, os, is_manually_assigned,
    is_uninstall_required, first_seen_at, last_seen_at, account_id, user_id
)
SELECT gen_random_uuid(), 'CORP\\user' || u, 'user' || u, 'CORP', 'PC-' || i, 'Windows 11',
       false, false, now(), now(), %(account)s,
       CASE WHEN i > %(users)s AND i %% 10 = 0 THEN NULL ELSE numbered.id END
FROM generate_series(1, %(agents)s) AS i
CROSS JOIN LATERAL (SELECT ((i - 1) %% GREATEST(%(users)s, 1)) + 1 AS u) AS pick
LEFT JOIN numbered ON numbered.n = pick.u
"""

GROUP_SQL = """
INSERT INTO directory_group (
    scim_id, display_name, external_id, source, created_at, last_modified_at, account_id
)
SELECT gen_random_uuid(), CASE WHEN i = 1 THEN %(big_name)s ELSE 'Team ' || lpad(i::text, 4, '0') END,
       'okta-group-' || i, 'scim', now(), now(), %(account)s
FROM generate_series(1, %(groups)s) AS i
"""

# Every user is in one team (round robin over the groups after the first); the first group is
# the big one and holds the first ``big`` users.
MEMBERSHIP_SQL = """
WITH users AS (
    SELECT id, scim_id, user_name, row_number() OVER (ORDER BY id) - 1 AS n
    FROM directory_directoryuser WHERE account_id = %(account)s
), teams AS (
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
    FROM directory_group WHERE account_id = %(account)s AND display_name <> %(big_name)s
)
INSERT INTO directory_groupmembership (display, created_at, group_id, user_id, user_scim_id)
SELECT users.user_name, now(), teams.id, users.id, users.scim_id
FROM users JOIN teams ON teams.n = users.n %% %(teams)s
UNION ALL
SELECT users.user_name, now(), big.id, users.id, users.scim_id
FROM users, directory_group big
WHERE big.account_id = %(account)s AND big.display_name = %(big_name)s AND users.n < %(big)s
"""

BIG_GROUP_NAME = "All staff"


class Command(BaseCommand):
    help = (
        "Create benchmark tenants (default two of 100,000 users, 150,000 agents, 1,000 groups and "
        "a 50,000-member group) with bulk inserts, and print a new SCIM key for each."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenants", type=int, default=2)
        parser.add_argument("--prefix", default="scale", help="account slugs are <prefix>-1, -2 …")
        parser.add_argument("--users", type=int, default=100_000)
        parser.add_argument("--agents", type=int, default=150_000)
        parser.add_argument("--groups", type=int, default=1_000)
        parser.add_argument("--big-group", type=int, default=50_000, help="members of 'All staff'")
        parser.add_argument(
            "--replace", action="store_true", help="delete these accounts first if they exist"
        )

    def handle(self, *args, tenants: int, prefix: str, users: int, agents: int, groups: int,
               big_group: int, replace: bool, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale needs PostgreSQL (set DATABASE_URL).")
        if min(tenants, users, agents, groups, big_group) < 0 or groups < 1:
            raise CommandError("Sizes must be positive, with at least one group.")
        big_group = min(big_group, users)
        started = time.monotonic()
        for number in range(1, tenants + 1):
            slug = f"{prefix}-{number}"
            existing = Account.objects.filter(slug=slug).first()
            if existing and not replace:
                raise CommandError(f"Account {slug!r} exists; pass --replace to rebuild it.")
            tenant_started = time.monotonic()
            with transaction.atomic():
                if existing:
                    self.delete_account(existing)
                account = Account.objects.create(slug=slug, name=f"Scale tenant {number}")
                self.seed(account, users=users, agents=agents, groups=groups, big=big_group)
                _, key = instance_create(account=account, name="Okta (seed_scale)")
            self.stdout.write(
                f"{slug}: {users} users, {agents} agents, {groups} groups, "
                f"'{BIG_GROUP_NAME}' has {big_group} members "
                f"({time.monotonic() - tenant_started:.1f} s)"
            )
            self.stdout.write(f"SCIM key {slug} {key}")
        # What autovacuum would do next: statistics, and a visibility map for index-only scans.
        analyze = "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE"
        with connection.cursor() as cursor:
            for table in ("directoryuser", "useremail", "agent", "group", "groupmembership"):
                cursor.execute(f"{analyze} directory_{table}")
        self.stdout.write(f"Seeded in {time.monotonic() - started:.1f} s.")

    @staticmethod
    def seed(account: Account, *, users: int, agents: int, groups: int, big: int) -> None:
        params = {
            "account": account.pk,
            "domain": f"{account.slug}.example",
            "users": users,
            "agents": agents,
            "groups": groups,
            "teams": max(groups - 1, 1),
            "big": big,
            "big_name": BIG_GROUP_NAME,
        }
        with connection.cursor() as cursor:
            cursor.execute(USER_SQL, params)
            cursor.execute(EMAIL_SQL, params)
            if users:
                cursor.execute(AGENT_SQL, params)
            cursor.execute(GROUP_SQL, params)
            if groups > 1 or big:
                cursor.execute(MEMBERSHIP_SQL, params)

    @staticmethod
    def delete_account(account: Account) -> None:
        """Delete in bulk, children first: the ORM's cascade would load every row."""
        with connection.cursor() as cursor:
            for sql in (
                "DELETE FROM directory_groupmembership WHERE group_id IN "
                "(SELECT id FROM directory_group WHERE account_id = %s)",
                "DELETE FROM directory_agent WHERE account_id = %s",
                "DELETE FROM directory_useremail WHERE account_id = %s",
                "DELETE FROM directory_group WHERE account_id = %s",
                "DELETE FROM directory_directoryuser WHERE account_id = %s",
            ):
                cursor.execute(sql, [account.pk])
        account.delete()
