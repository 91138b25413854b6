"""Room on each page of the users table for the next version of its rows.

A PUT or PATCH from Okta rewrites a user's row. PostgreSQL keeps the new version on the same
page when it fits and no indexed column changed (a HOT update) and then touches none of the
table's sixteen indexes, four of them trigram indexes; on a full page it writes an entry in
every one. Pages filled to 80% leave that room. Existing pages keep their layout until they
are rewritten (VACUUM FULL or pg_repack); new rows get it at once. PostgreSQL only.
"""

from django.db import migrations


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE directory_directoryuser SET (fillfactor = 80)")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE directory_directoryuser RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("directory", "0011_user_page_count_indexes")]

    operations = [migrations.RunPython(leave_room, fill_pages)]
