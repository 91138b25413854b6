"""Each membership row carries its member's SCIM id.

Listing a 50,000-member group joined every membership to its user for the id: 150 ms of the
group's GET, and of Okta's connection test, which lists 100 groups with their members. A
user's SCIM id never changes, so the copy cannot go stale.
"""

from django.db import migrations, models

BACKFILL = """
UPDATE directory_groupmembership SET user_scim_id = (
    SELECT scim_id FROM directory_directoryuser WHERE directory_directoryuser.id = directory_groupmembership.user_id
)
"""


class Migration(migrations.Migration):
    dependencies = [("directory", "0008_live_user_tally")]

    operations = [
        migrations.AddField(
            model_name="groupmembership",
            name="user_scim_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="groupmembership",
            name="user_scim_id",
            field=models.UUIDField(editable=False),
        ),
    ]
