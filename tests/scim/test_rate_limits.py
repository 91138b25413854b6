"""Rate limits: per API key, and failed authentications per client address, counted in the
database. Okta waits exactly the integer Retry-After of a 429 and then retries."""

from __future__ import annotations

import time

from directory.models import DirectoryUser
from integrations.models import ProvisioningEvent
from tests.scim_client import ERROR_SCHEMA, ScimClient, okta_user


def assert_too_many(response, *, longest: int) -> int:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == "429" and body["detail"]
    assert response.headers["Content-Type"].startswith("application/scim+json")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= longest
    return int(retry_after)


def test_a_key_over_its_limit_gets_429_with_an_integer_retry_after(scim, settings):
    settings.SCIM_RATE_LIMIT_REQUESTS = 5
    settings.SCIM_RATE_LIMIT_WINDOW_SECONDS = 3600
    for _ in range(5):
        assert scim.get("/Users?count=1").status_code == 200
    assert_too_many(scim.get("/Users?count=1"), longest=3600)
    events_before = ProvisioningEvent.objects.count()
    assert_too_many(scim.create_user("late@acme.example"), longest=3600)
    # Refused before any work: no user, and no event row per refused request.
    assert not DirectoryUser.objects.filter(user_name="late@acme.example").exists()
    assert ProvisioningEvent.objects.count() == events_before


def test_the_limit_is_per_key(scim, scim_globex, live_server, acme, key_factory, settings):
    settings.SCIM_RATE_LIMIT_REQUESTS = 3
    settings.SCIM_RATE_LIMIT_WINDOW_SECONDS = 3600
    for _ in range(3):
        assert scim.get("/Groups").status_code == 200
    assert scim.get("/Groups").status_code == 429
    second_acme_key = ScimClient(f"{live_server.url}/scim/v1", key_factory(acme, "Entra"))
    assert second_acme_key.get("/Groups").status_code == 200
    assert scim_globex.get("/Groups").status_code == 200


def test_a_limited_key_is_served_again_after_retry_after(scim, settings):
    settings.SCIM_RATE_LIMIT_REQUESTS = 2
    settings.SCIM_RATE_LIMIT_WINDOW_SECONDS = 2
    response = scim.get("/Users?count=1")
    while response.status_code == 200:
        response = scim.get("/Users?count=1")
    wait = assert_too_many(response, longest=2)
    time.sleep(wait)
    assert scim.get("/Users?count=1").status_code == 200


def test_failed_authentications_from_one_address_are_limited_but_valid_keys_still_work(
    scim, live_server, settings
):
    settings.SCIM_AUTH_FAILURE_LIMIT = 3
    settings.SCIM_AUTH_FAILURE_WINDOW_SECONDS = 3600
    guesser = ScimClient(f"{live_server.url}/scim/v1", "atk_scim_guessguessguessguessguessguessguessguess")
    for _ in range(3):
        assert guesser.get("/Users").status_code == 401
    failures_recorded = ProvisioningEvent.objects.filter(action="auth.failure").count()
    for _ in range(3):
        assert_too_many(guesser.get("/Users"), longest=3600)
    assert_too_many(ScimClient(f"{live_server.url}/scim/v1", None).get("/Users"), longest=3600)
    # Okta sends every tenant's requests from the same addresses: a good key still gets through.
    assert scim.get("/Users").status_code == 200
    assert scim.post("/Users", okta_user("ok@acme.example")).status_code == 201
    assert ProvisioningEvent.objects.filter(action="auth.failure").count() == failures_recorded


def test_limits_are_off_when_set_to_zero(scim, settings):
    settings.SCIM_RATE_LIMIT_REQUESTS = 0
    for _ in range(30):
        assert scim.get("/ServiceProviderConfig").status_code == 200
        assert scim.get("/Users?count=0").status_code == 200
