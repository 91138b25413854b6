"""docs/operations.md against the code it describes: the reasons a SCIM key is refused, as the
metric's help text, its table row and the alert name them, and the tables the backup command
leaves out."""

from __future__ import annotations

import re
from pathlib import Path

from django.db import connection

from activtrak_scim.observability.metrics import AUTHENTICATION_FAILURES
from integrations.models import ApiKey
from integrations.services import KEY_REFUSALS

OPERATIONS = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()


def table_row(starts_with: str) -> list[str]:
    (row,) = [line for line in OPERATIONS.splitlines() if line.startswith(starts_with)]
    return row.split(" | ")


def test_every_reason_a_scim_key_is_refused_for_is_documented_and_in_the_metric_help():
    reasons = set(KEY_REFUSALS[ApiKey])
    assert {"revoked", "replaced"} <= reasons
    documented = table_row("| `activtrak_scim_authentication_failures_total`")[2]
    assert set(re.findall(r"`([a-z]+)`", documented)) == reasons
    (family,) = AUTHENTICATION_FAILURES.describe()
    assert all(reason in family.documentation for reason in reasons), family.documentation


def test_the_key_keeps_failing_alert_covers_revoked_and_replaced_keys():
    query = table_row("| A customer's key keeps failing")[1]
    (pattern,) = re.findall(r'reason=~"([^"]+)"', query)
    assert {"revoked", "replaced", "unknown"} <= set(pattern.replace("\\|", "|").split("|"))


def test_the_backup_command_leaves_out_only_tables_that_exist(db):
    excluded = re.findall(r"--exclude-table-data=(\w+)", OPERATIONS)
    assert "django_session" in excluded
    missing = set(excluded) - set(connection.introspection.table_names())
    assert not missing, missing
