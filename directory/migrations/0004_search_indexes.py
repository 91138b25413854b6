"""Trigram indexes for the case-insensitive substring searches of the Users page and the admin.

Django's ``icontains`` on PostgreSQL is ``UPPER(column::text) LIKE UPPER('%term%')``; a GIN
trigram index on that same expression turns a scan of 100,000 rows into an index lookup.
PostgreSQL only (pg_trgm ships with it and is a trusted extension); other databases skip this.
"""

from django.db import migrations

INDEXES = [
    ("directory_user_user_name_trgm", "directory_directoryuser", "user_name"),
    ("directory_user_email_trgm", "directory_directoryuser", "email"),
    ("directory_user_display_name_trgm", "directory_directoryuser", "display_name"),
    ("directory_user_external_id_trgm", "directory_directoryuser", "external_id"),
    ("directory_agent_logon_name_trgm", "directory_agent", "logon_name"),
    ("directory_agent_machine_name_trgm", "directory_agent", "machine_name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("directory", "0003_live_user_index")]

    operations = [migrations.RunPython(create, drop)]
