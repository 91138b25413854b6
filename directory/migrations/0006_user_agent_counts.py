"""Each user's agent counts, kept by triggers on directory_agent.

The Groups page and the admin group list count a group's agents by summing its members'
``counted_agent_count``; joining 50,000 members to 95,000 agents on every page view took a
quarter of a second. Triggers (rather than service code) keep the counts right for every way an
agent row changes: check-in, matching, assignment, merge, unmerge, admin edits, deletes and
``SET NULL`` cascades, each in the transaction that made the change. Increments, not recounts,
so concurrent changes to one user's agents queue on the user's row and none is lost.
"""

from django.db import migrations, models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

POSTGRESQL_CREATE = """
CREATE FUNCTION directory_agent_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.user_id IS NOT NULL THEN
        UPDATE directory_directoryuser
           SET agent_count = agent_count - 1,
               counted_agent_count = counted_agent_count - (OLD.merged_into_id IS NULL)::int
         WHERE id = OLD.user_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.user_id IS NOT NULL THEN
        UPDATE directory_directoryuser
           SET agent_count = agent_count + 1,
               counted_agent_count = counted_agent_count + (NEW.merged_into_id IS NULL)::int
         WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER directory_agent_counts_insert_delete AFTER INSERT OR DELETE ON directory_agent
    FOR EACH ROW EXECUTE FUNCTION directory_agent_counts();
CREATE TRIGGER directory_agent_counts_update AFTER UPDATE OF user_id, merged_into_id ON directory_agent
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id)
    EXECUTE FUNCTION directory_agent_counts();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS directory_agent_counts_update ON directory_agent;
DROP TRIGGER IF EXISTS directory_agent_counts_insert_delete ON directory_agent;
DROP FUNCTION IF EXISTS directory_agent_counts();
"""

_LESS = """UPDATE directory_directoryuser
       SET agent_count = agent_count - 1,
           counted_agent_count = counted_agent_count - (OLD.merged_into_id IS NULL)
     WHERE id = OLD.user_id;"""
_MORE = """UPDATE directory_directoryuser
       SET agent_count = agent_count + 1,
           counted_agent_count = counted_agent_count + (NEW.merged_into_id IS NULL)
     WHERE id = NEW.user_id;"""
# SQLite rebuilds a table (dropping its triggers) when a later migration alters it in ways
# ALTER TABLE cannot; tests/test_sqlite_quick_start.py checks the counts after all migrations.
SQLITE_CREATE = [
    f"CREATE TRIGGER directory_agent_counts_insert AFTER INSERT ON directory_agent BEGIN {_MORE} END",
    f"CREATE TRIGGER directory_agent_counts_delete AFTER DELETE ON directory_agent BEGIN {_LESS} END",
    "CREATE TRIGGER directory_agent_counts_update AFTER UPDATE OF user_id, merged_into_id ON directory_agent "
    "WHEN OLD.user_id IS NOT NEW.user_id OR OLD.merged_into_id IS NOT NEW.merged_into_id "
    f"BEGIN {_LESS} {_MORE} END",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in ("directory_agent_counts_insert", "directory_agent_counts_delete", "directory_agent_counts_update")
]


def count_and_keep_counting(apps, schema_editor):
    DirectoryUser = apps.get_model("directory", "DirectoryUser")
    Agent = apps.get_model("directory", "Agent")

    def agents(condition: Q) -> Coalesce:
        rows = (
            Agent.objects.filter(condition, user=OuterRef("pk"))
            .order_by()
            .values("user")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), 0)

    DirectoryUser.objects.update(
        agent_count=agents(Q()), counted_agent_count=agents(Q(merged_into__isnull=True))
    )
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def stop_counting(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": [POSTGRESQL_DROP], "sqlite": SQLITE_DROP}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("directory", "0005_membership_order_index")]

    operations = [
        migrations.AddField(
            model_name="directoryuser",
            name="agent_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="directoryuser",
            name="counted_agent_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_and_keep_counting, stop_counting),
    ]
