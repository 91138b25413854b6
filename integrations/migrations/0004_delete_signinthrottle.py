# Failed sign-ins are counted by the one database rate limiter (RequestCounter) now.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_request_counter"),
    ]

    operations = [
        migrations.DeleteModel(name="SignInThrottle"),
    ]
