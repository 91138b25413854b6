# Failed sign-ins are counted by the one database rate limiter (RequestCounter) now.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0004_api_key_rotation"),
    ]

    operations = [
        migrations.DeleteModel(name="SignInThrottle"),
    ]
