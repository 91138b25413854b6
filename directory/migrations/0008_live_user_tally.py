"""Each account's number of live users, kept by triggers on directory_directoryuser.

Unfiltered SCIM pages of users report ``totalResults``; counting 100,000 users took each page
of Okta's import 10 ms. Triggers (rather than service code) see every way a user row appears,
is tombstoned, restored or deleted: SCIM, admin, bulk seeds and cascades, each in the
transaction that made the change. They only insert rows, so concurrent creates never wait on
one another. PostgreSQL counts a bulk insert or delete with one row per statement.
"""

from django.db import migrations, models

USERS, TALLY = "directory_directoryuser", "directory_liveusertally"

POSTGRESQL_CREATE = f"""
CREATE FUNCTION directory_user_tally_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {TALLY} (account_id, delta)
        SELECT account_id, COUNT(*) FROM tally_new WHERE deleted_at IS NULL GROUP BY account_id;
    ELSE
        INSERT INTO {TALLY} (account_id, delta)
        SELECT account_id, -COUNT(*) FROM tally_old WHERE deleted_at IS NULL GROUP BY account_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER directory_user_tally_insert AFTER INSERT ON {USERS}
    REFERENCING NEW TABLE AS tally_new
    FOR EACH STATEMENT EXECUTE FUNCTION directory_user_tally_statement();
CREATE TRIGGER directory_user_tally_delete AFTER DELETE ON {USERS}
    REFERENCING OLD TABLE AS tally_old
    FOR EACH STATEMENT EXECUTE FUNCTION directory_user_tally_statement();

CREATE FUNCTION directory_user_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.deleted_at IS NULL THEN
        INSERT INTO {TALLY} (account_id, delta) VALUES (OLD.account_id, -1);
    END IF;
    IF NEW.deleted_at IS NULL THEN
        INSERT INTO {TALLY} (account_id, delta) VALUES (NEW.account_id, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER directory_user_tally_update AFTER UPDATE OF deleted_at, account_id ON {USERS}
    FOR EACH ROW
    WHEN ((OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
          OR OLD.account_id IS DISTINCT FROM NEW.account_id)
    EXECUTE FUNCTION directory_user_tally_update();

CREATE FUNCTION directory_account_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TALLY} WHERE account_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER directory_account_tally_delete AFTER DELETE ON directory_account
    FOR EACH ROW EXECUTE FUNCTION directory_account_tally_delete();
"""
POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS directory_account_tally_delete ON directory_account;
DROP FUNCTION IF EXISTS directory_account_tally_delete();
DROP TRIGGER IF EXISTS directory_user_tally_update ON {USERS};
DROP FUNCTION IF EXISTS directory_user_tally_update();
DROP TRIGGER IF EXISTS directory_user_tally_delete ON {USERS};
DROP TRIGGER IF EXISTS directory_user_tally_insert ON {USERS};
DROP FUNCTION IF EXISTS directory_user_tally_statement();
"""

_LESS = f"INSERT INTO {TALLY} (account_id, delta) SELECT OLD.account_id, -1 WHERE OLD.deleted_at IS NULL;"
_MORE = f"INSERT INTO {TALLY} (account_id, delta) SELECT NEW.account_id, 1 WHERE NEW.deleted_at IS NULL;"
# SQLite drops a table's triggers when a later migration rebuilds it;
# tests/test_sqlite_quick_start.py checks the tally after all migrations.
SQLITE_CREATE = [
    f"CREATE TRIGGER directory_user_tally_insert AFTER INSERT ON {USERS} BEGIN {_MORE} END",
    f"CREATE TRIGGER directory_user_tally_delete AFTER DELETE ON {USERS} BEGIN {_LESS} END",
    f"CREATE TRIGGER directory_user_tally_update AFTER UPDATE OF deleted_at, account_id ON {USERS} "
    "WHEN (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at IS NULL) OR OLD.account_id IS NOT NEW.account_id "
    f"BEGIN {_LESS} {_MORE} END",
    "CREATE TRIGGER directory_account_tally_delete AFTER DELETE ON directory_account "
    f"BEGIN DELETE FROM {TALLY} WHERE account_id = OLD.id; END",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "directory_user_tally_insert",
        "directory_user_tally_delete",
        "directory_user_tally_update",
        "directory_account_tally_delete",
    )
]


def count_and_keep_counting(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)
    # After the triggers, inside the migration's transaction: no change is counted twice or missed.
    schema_editor.execute(
        f"INSERT INTO {TALLY} (account_id, delta) SELECT account_id, COUNT(*) FROM {USERS} "
        "WHERE deleted_at IS NULL GROUP BY account_id"
    )


def stop_counting(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": [POSTGRESQL_DROP], "sqlite": SQLITE_DROP}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("directory", "0007_member_count_covering_index")]

    operations = [
        migrations.CreateModel(
            name="LiveUserTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account_id", models.BigIntegerField(db_index=True)),
                ("delta", models.IntegerField()),
            ],
        ),
        migrations.RunPython(count_and_keep_counting, stop_counting),
    ]
