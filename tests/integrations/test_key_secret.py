"""SCIM keys are digested under SCIM_KEY_HMAC_SECRET, apart from DJANGO_SECRET_KEY, and the
secret can be rotated: presented keys are checked against the current secret and the fallbacks."""

from __future__ import annotations

import hashlib
import hmac

from integrations import keys
from integrations.models import ApiKey


def test_a_rotated_secret_keeps_old_keys_working_through_the_fallbacks(
    scim, acme, key_factory, settings
):
    old_secret = settings.SCIM_KEY_HMAC_SECRET
    settings.SCIM_KEY_HMAC_SECRET = "a-new-secret-" + "n" * 40
    settings.SCIM_KEY_HMAC_SECRET_FALLBACKS = [old_secret]

    assert scim.get("/Users").status_code == 200
    new_key = key_factory(acme)
    stored = ApiKey.objects.get(lookup=keys.parse_key(new_key).lookup).digest
    assert stored == hmac.new(settings.SCIM_KEY_HMAC_SECRET.encode(), new_key.encode(), hashlib.sha256).hexdigest()

    settings.SCIM_KEY_HMAC_SECRET_FALLBACKS = []
    assert scim.get("/Users").status_code == 401
