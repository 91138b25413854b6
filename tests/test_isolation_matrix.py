"""Isolation matrix: globex's SCIM key, agent key and admin (charlie) against every endpoint,
method and page, aimed at acme's ids and lists. The answer is 404 or an empty list, never
acme's data, and acme's rows are unchanged afterwards.

The URL patterns are enumerated from the resolver, so a new endpoint or page fails
``test_every_url_pattern_is_covered`` until this matrix knows about it.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from directory.agent_services import agent_check_in
from directory.models import Agent, DirectoryUser, Group, GroupMembership
from integrations.guides import GUIDE_FILES
from integrations.models import ApiKey, IntegrationInstance
from integrations.services import agent_key_regenerate, instance_create

SCIM_ROUTES = {
    "scim:users", "scim:users-search", "scim:groups", "scim:groups-search",
    "scim:service-provider-config", "scim:schemas", "scim:resource-types", "scim:unsupported",
    "scim:unknown",
}
API_ROUTES = {"agent-check-in"}
# Not tenant data: liveness, readiness, sign-in (also at Okta SWA's address) and sign-out.
PUBLIC_ROUTES = {"healthz", "readyz", "login", "swa-sign-in", "logout"}
# Django admin is the operators' cross-account tool; it is staff-only (checked below).
STAFF_NAMESPACES = {"admin"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PATCH_BODY = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
              "Operations": [{"op": "replace", "value": {"active": False, "displayName": "pwned"}}]}


def url_patterns(patterns=None, namespace: str = ""):
    """(qualified name, pattern) for every URL pattern, however deeply included."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (
                entry.namespace or namespace)
            yield from url_patterns(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


@pytest.fixture
def acme_world(acme, acme_key):
    """acme's data, with markers that must never show up in globex's answers."""
    instance, _ = instance_create(account=acme, name="Acme Secret Okta")
    user = DirectoryUser.objects.create(account=acme, user_name="secret.alice@acme.example",
                                        given_name="Secretalice", family_name="Acmeonly")
    group = Group.objects.create(account=acme, display_name="Acme Secret Group")
    GroupMembership.objects.create(group=group, user=user)
    agent, _ = agent_check_in(account=acme, logon_name="ACME\\secret.alice", machine_name="ACME-SECRET-PC")
    markers = ["secret.alice", "Secretalice", "Acme Secret", "ACME-SECRET-PC", str(user.scim_id),
               str(group.scim_id), str(agent.public_id), "Acme Secret Okta"]
    return {"instance": instance, "user": user, "group": group, "agent": agent, "markers": markers}


def snapshot(account) -> dict:
    users = DirectoryUser.objects.filter(account=account)
    return {
        "users": sorted(users.values_list("scim_id", "user_name", "given_name", "is_active", "deleted_at")),
        "groups": sorted(Group.objects.filter(account=account).values_list("scim_id", "display_name")),
        "members": GroupMembership.objects.filter(group__account=account).count(),
        "agents": sorted(Agent.objects.filter(account=account).values_list("public_id", "user_id", "machine_name")),
        "instances": sorted(IntegrationInstance.objects.filter(account=account).values_list("pk", "name", "deleted_at")),
        "keys": sorted(ApiKey.objects.filter(instance__account=account).values_list("pk", "revoked_at")),
    }


def assert_no_leak(response, markers: list[str], sent: str = "") -> None:
    """No acme marker in the answer, except one the client itself sent (a 404 names its id)."""
    text = response.content.decode("utf-8", errors="replace")
    sent += response.request["PATH_INFO"] + response.request.get("QUERY_STRING", "")
    for marker in markers:
        if marker in sent:
            continue
        assert marker not in text, f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']} leaked {marker!r}"


def test_every_url_pattern_is_covered():
    uncovered = []
    for name, pattern in url_patterns():
        namespace = name.split(":")[0] if name and ":" in name else ""
        if namespace in STAFF_NAMESPACES or name in SCIM_ROUTES | API_ROUTES | PUBLIC_ROUTES:
            continue
        if name is None or not name.startswith(("directory:", "integrations:")):
            uncovered.append((name, str(pattern.pattern)))
            continue
        try:
            page_kwargs_for(pattern, None)
        except LookupError as exc:
            uncovered.append((name, str(exc)))
    assert not uncovered, f"add these URL patterns to the isolation matrix: {uncovered}"
    scim_names = {name for name, _ in url_patterns() if name and name.startswith("scim:")}
    assert scim_names == SCIM_ROUTES, scim_names ^ SCIM_ROUTES


def page_kwargs_for(pattern: URLPattern, world: dict | None) -> list[dict]:
    """Every way to aim the page at acme's objects: each id converter gets each acme id."""
    converters = getattr(pattern.pattern, "converters", {})
    choices: list[dict] = [{}]
    for name, converter in converters.items():
        kind = type(converter).__name__
        if kind == "UUIDConverter":
            values = [world["user"].scim_id, world["group"].scim_id, world["agent"].public_id] if world else [uuid.uuid4()]
        elif kind == "IntConverter":
            values = [world["instance"].pk] if world else [1]
        elif kind == "SlugConverter" and name == "kind":
            values = [value for value, _ in IntegrationInstance.KIND_CHOICES]
        elif kind == "SlugConverter" and name == "slug":
            values = list(GUIDE_FILES)
        else:
            raise LookupError(f"{pattern.pattern}: no acme value for <{kind} {name}>")
        choices = [{**choice, name: value} for choice in choices for value in values]
    return choices


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_globex_key_against_acme_resources(client, acme_world, globex_key, resource):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {globex_key}"}
    target = acme_world["user"] if resource == "Users" else acme_world["group"]
    before = snapshot(target.account)
    body = {"schemas": [], "userName": "secret.alice@acme.example", "displayName": "Acme Secret Group",
            "members": [{"value": str(acme_world["user"].scim_id)}]}

    for method in METHODS:
        for path in (f"/scim/v1/{resource}/{target.scim_id}", f"/scim/v1/{resource}/{target.scim_id}/"):
            data = json.dumps(PATCH_BODY if method == "PATCH" else body)
            response = client.generic(method, path, data, content_type="application/scim+json", **auth)
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert_no_leak(response, acme_world["markers"])

    filters = [f'id eq "{target.scim_id}"', 'userName eq "secret.alice@acme.example"',
               'displayName co "Secret"', f'members.value eq "{acme_world["user"].scim_id}"', "id pr"]
    for text in filters:
        response = client.get(f"/scim/v1/{resource}", {"filter": text}, **auth)
        if response.status_code == 200:
            assert response.json()["totalResults"] == 0
        assert_no_leak(response, acme_world["markers"], text)
        search = client.post(f"/scim/v1/{resource}/.search", json.dumps(
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": text}),
            content_type="application/scim+json", **auth)
        if search.status_code == 200:
            assert search.json()["totalResults"] == 0
        assert_no_leak(search, acme_world["markers"], text)
    listing = client.get(f"/scim/v1/{resource}", **auth)
    assert listing.status_code == 200 and listing.json()["totalResults"] == 0

    # A group naming acme's user as a member is refused; a user with acme's userName is globex's own.
    group = client.post("/scim/v1/Groups", json.dumps({"displayName": "G", "members": body["members"]}),
                        content_type="application/scim+json", **auth)
    assert group.status_code == 400
    assert client.post("/scim/v1/Users", json.dumps({"userName": "secret.alice@acme.example"}),
                       content_type="application/scim+json", **auth).status_code == 201
    assert snapshot(target.account) == before


def test_discovery_and_unsupported_endpoints_hold_no_account_data(client, acme_world, globex_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {globex_key}"}
    for path in ("ServiceProviderConfig", "Schemas", "ResourceTypes", "Bulk", "Me", ".search",
                 "Agents", "Users/.search/x"):
        for method in METHODS:
            response = client.generic(method, f"/scim/v1/{path}", "{}", content_type="application/scim+json", **auth)
            assert response.status_code < 500 or response.status_code == 501
            assert_no_leak(response, acme_world["markers"])


def test_globex_agent_key_never_reaches_acme_agents_or_users(client, acme_world, globex):
    before = snapshot(acme_world["user"].account)
    key = agent_key_regenerate(account=globex)
    response = client.post(
        "/api/agents/v1/check-in",
        {"logon_name": "ACME\\secret.alice", "machine_name": "ACME-SECRET-PC"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201
    assert response.json()["id"] != str(acme_world["agent"].public_id)
    assert response.json()["user"] is None
    assert Agent.objects.get(public_id=response.json()["id"]).account == globex
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        other = client.generic(method, "/api/agents/v1/check-in", "{}", content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {key}")
        assert other.status_code == 405
    assert snapshot(acme_world["user"].account) == before


# Every action a page form sends, each with every field any page form reads, aimed at acme.
PAGE_ACTIONS = ["rename", "add", "remove", "delete", "assign", "regenerate-key", "merge", ""]


def acme_form_fields(world: dict, action: str) -> dict:
    agent = str(world["agent"].public_id)
    return {
        "action": action,
        "name": "pwned",
        "display_name": "pwned",
        "user_name": world["user"].user_name,
        "agent": agent,
        "agents": [agent],
        "primary": agent,
        "others": [agent],
        "confirm": "on",
        "acknowledge": "on",
        "overlap_hours": "24",
    }


def test_globex_admin_pages_aimed_at_acme_show_and_change_nothing(client, acme_world, charlie):
    before = snapshot(acme_world["user"].account)
    client.force_login(charlie)
    probed = 0
    for name, pattern in url_patterns():
        if not name or not name.startswith(("directory:", "integrations:")):
            continue
        for kwargs in page_kwargs_for(pattern, acme_world):
            url = reverse(name, kwargs=kwargs)
            aims_at_acme = any(v in (acme_world["user"].scim_id, acme_world["group"].scim_id,
                                     acme_world["agent"].public_id, acme_world["instance"].pk)
                               for v in kwargs.values())
            responses = [client.get(url)] + [
                client.post(url, acme_form_fields(acme_world, action)) for action in PAGE_ACTIONS
            ]
            for response in responses:
                probed += 1
                method = response.request["REQUEST_METHOD"]
                assert response.status_code < 500, (method, url)
                if aims_at_acme:
                    assert response.status_code in (404, 403, 405), (method, url, response.status_code)
                # A form may echo what it was sent ("No user named …"); nothing else of acme's.
                sent = str(acme_form_fields(acme_world, "")) if method == "POST" else ""
                assert_no_leak(response, acme_world["markers"], sent=sent)
    assert probed >= 100
    assert snapshot(acme_world["user"].account) == before


def test_django_admin_is_staff_only(client, acme_world, charlie):
    client.force_login(charlie)
    response = client.get("/admin/directory/directoryuser/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
