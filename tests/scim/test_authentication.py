"""Bearer keys: every way a key can be wrong gets its own 401, and the key decides the account."""

from __future__ import annotations

import pytest
import requests
from django.utils import timezone

from integrations.models import ApiKey, ProvisioningEvent
from integrations.services import api_key_regenerate, instance_delete
from tests.scim_client import ERROR_SCHEMA


def get_users(live_server, authorization):
    headers = {"Accept": "application/scim+json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return requests.get(f"{live_server.url}/scim/v1/Users", headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("authorization", "reason", "phrase"),
    [
        (None, "missing", "missing"),
        ("", "missing", "missing"),
        ("Basic dXNlcjpwYXNz", "scheme", "Bearer scheme"),
        ("{key}", "scheme", "Bearer scheme"),
        ("Bearer Bearer {key}", "doubled", "twice"),
        ("Bearer atk_scim_short", "malformed", "malformed"),
        ("Bearer not-our-key-at-all", "malformed", "malformed"),
        ("Bearer {unknown}", "unknown", "not recognised"),
    ],
)
def test_each_bad_authorization_gets_a_401_scim_error_saying_why(live_server, acme_key, authorization, reason, phrase):
    from integrations.keys import generate_key

    if authorization is not None:
        authorization = authorization.format(key=acme_key, unknown=generate_key())

    response = get_users(live_server, authorization)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == "401"
    assert phrase in body["detail"]
    event = ProvisioningEvent.objects.get()
    assert event.action == "auth.failure" and event.status_code == 401 and reason in event.detail
    assert acme_key not in event.detail


def test_scheme_is_case_insensitive(live_server, acme_key):
    assert get_users(live_server, f"bearer {acme_key}").status_code == 200
    assert get_users(live_server, f"BEARER   {acme_key}").status_code == 200


def test_regenerated_key_rejects_old_key_as_revoked_and_attributes_the_failure(live_server, acme, acme_key):
    instance = ApiKey.objects.get().instance
    new_key = api_key_regenerate(instance=instance)

    old = get_users(live_server, f"Bearer {acme_key}")
    new = get_users(live_server, f"Bearer {new_key}")

    assert old.status_code == 401 and "revoked" in old.json()["detail"]
    assert new.status_code == 200
    failure = ProvisioningEvent.objects.get(action="auth.failure")
    assert failure.account == acme and failure.instance == instance


def test_deleted_instance_key_is_refused_saying_a_new_instance_is_needed(live_server, acme_key):
    instance_delete(instance=ApiKey.objects.get().instance)

    response = get_users(live_server, f"Bearer {acme_key}")

    assert response.status_code == 401
    detail = response.json()["detail"]
    assert "instance this API key belongs to was deleted" in detail
    assert "Create a new instance (and key) on the Integrations page" in detail
    assert "regenerate" not in detail
    failure = ProvisioningEvent.objects.get(action="auth.failure")
    assert failure.detail.endswith(": deleted")


def test_last_used_is_recorded_but_not_written_on_every_request(live_server, acme_key):
    key = ApiKey.objects.get()
    assert key.last_used_at is None

    get_users(live_server, f"Bearer {acme_key}")
    key.refresh_from_db()
    first = key.last_used_at
    get_users(live_server, f"Bearer {acme_key}")
    key.refresh_from_db()

    assert first is not None and first <= timezone.now()
    assert key.last_used_at == first


def test_the_key_decides_the_account_not_the_url(live_server, acme_key, globex_key, scim, scim_globex):
    scim.create_user("ann@acme.example")
    scim_globex.create_user("gus@globex.example")

    acme_names = [u["userName"] for u in scim.get("/Users").json()["Resources"]]
    globex_names = [u["userName"] for u in scim_globex.get("/Users").json()["Resources"]]

    assert acme_names == ["ann@acme.example"]
    assert globex_names == ["gus@globex.example"]


def test_discovery_endpoints_describe_the_server(scim):
    config = scim.get("/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert config["changePassword"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["etag"]["supported"] is True and config["sort"]["supported"] is True
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    types = scim.get("/ResourceTypes").json()
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    assert types["totalResults"] == 2
    user_type = scim.get("/ResourceTypes/User").json()
    assert user_type["endpoint"] == "/Users"

    schemas = scim.get("/Schemas").json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert "urn:ietf:params:scim:schemas:core:2.0:User" in ids
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in ids
    assert scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group").json()["name"] == "Group"
    assert scim.get("/Schemas/urn:nope").status_code == 404


@pytest.mark.parametrize(
    ("authorization", "phrase"),
    [
        (None, "Send the agent deployment key"),
        ("Basic dXNlcjpwYXNz", "Bearer scheme"),
        ("{key}", "Bearer scheme"),
        ("Bearer Bearer {key}", "'Bearer' twice"),
        ("Bearer {key} {key}", "malformed"),
        ("Bearer {scim_key}", "malformed"),
        ("Bearer {unknown}", "not recognised"),
        ("Bearer {revoked}", "was regenerated"),
    ],
)
def test_agent_keys_are_checked_by_the_same_key_service_with_the_same_reasons(
    live_server, acme, acme_key, authorization, phrase
):
    from integrations import keys
    from integrations.services import agent_key_regenerate

    revoked = agent_key_regenerate(account=acme)
    agent_key = agent_key_regenerate(account=acme)
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(
            key=agent_key, scim_key=acme_key, unknown=keys.generate_key(keys.AGENT_KEY_PREFIX), revoked=revoked
        )
    body = {"logon_name": "ACME\\ann", "machine_name": "PC-1"}

    response = requests.post(f"{live_server.url}/api/agents/v1/check-in", json=body, headers=headers, timeout=30)

    assert response.status_code == 401
    assert phrase in response.json()["detail"]
    accepted = requests.post(
        f"{live_server.url}/api/agents/v1/check-in",
        json=body,
        headers={"Authorization": f"bearer {agent_key}"},
        timeout=30,
    )
    assert accepted.status_code == 201


def test_a_rotated_out_key_costs_no_more_queries_than_any_key(
    acme, acme_key, scim_client, client, django_assert_max_num_queries
):
    from integrations.models import IntegrationInstance
    from integrations.services import api_key_rotate

    scim_client("GET", "/Users")  # the key's first use is behind us, as in the pinned counts
    api_key_rotate(instance=IntegrationInstance.objects.get(account=acme))

    # The key, its rate-limit counter, its last-used write; then count and page as pinned in
    # tests/scim/test_query_counts.py.
    with django_assert_max_num_queries(3 + 3):
        response = scim_client("GET", "/Users?startIndex=1&count=1")

    assert response.status_code == 200 and response.json()["totalResults"] == 0
