"""Generated and mutated hostile input sent to a LIVE four-worker gunicorn (and the page forms
in-process): no 5xx, every SCIM error is SCIM error JSON, and the database invariants hold.

The normal suite runs a small slice (FUZZ_EXAMPLES, default 15 per test); ``bin/fuzz`` runs
thousands and prints the totals. Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db.models import F, Func
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from directory.models import Agent, DirectoryUser, Group, GroupMembership, UserEmail
from integrations.services import agent_key_regenerate
from tests.scim.test_hostile_input import bodies, filters, json_values, operations
from tests.scim_client import ERROR_SCHEMA, PATCH_OP, ScimClient, okta_user

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
TALLY: Counter = Counter()

# What an HTTP client can send at all: printable ASCII without surrounding whitespace.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
resources = st.sampled_from(
    ["/Users", "/Groups", "/Users/{user}", "/Groups/{group}", "/Users/.search", "/Groups/.search",
     "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Bulk", "/Me", "/Users/{user}/x",
     "//Users//{user}//", "/Groups/{user}", "/Users/{other}"]
) | st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/"))
query_keys = st.sampled_from(
    ["filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder"]
) | st.text(max_size=8)
queries = st.dictionaries(query_keys, filters | st.text(max_size=20) | st.integers().map(str), max_size=4)
headers = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/scim+json", "application/json", "text/plain",
                                     "application/scim+json; charset=latin-1", ""]) | header_text,
    "If-Match": st.sampled_from(["*", '"x"', 'W/"0"', ""]) | header_text,
    "If-None-Match": header_text,
    "Accept": header_text,
    "X-Forwarded-For": header_text,
    "Authorization": st.sampled_from(["", "Bearer", "Basic Zm9vOmJhcg==", "Bearer Bearer {key}",
                                      "Bearer {key}x", "bearer {key}", "Bearer  {key} "]) | header_text,
})


def mutate(base: dict, draw_key, value) -> dict:
    body = dict(base)
    if draw_key in body and value is None:
        del body[draw_key]
    else:
        body[draw_key] = value
    return body


okta_bodies = st.builds(
    mutate, st.just(okta_user("mutant@acme.example")),
    st.sampled_from(["userName", "name", "emails", "active", "schemas", "externalId", "groups",
                     "password", "displayName", "members", "meta", "id"]),
    json_values,
)
patch_bodies = st.builds(lambda ops: {"schemas": [PATCH_OP], "Operations": ops}, operations)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.integers(1, 60).map(lambda depth: ("[" * depth + "]" * depth).encode()),
    st.just(b'{"userName": "a\\u0000b"}'),
    st.just(b"\xff\xfe{}"),
)
any_body = st.one_of(bodies, okta_bodies, patch_bodies, json_values).map(
    lambda b: json.dumps(b).encode()
) | raw_bodies


def check_answer(response: requests.Response, *, scim: bool = True) -> None:
    TALLY["requests"] += 1
    if response.status_code >= 500 and response.status_code != 501:
        TALLY["5xx"] += 1
    assert response.status_code < 500 or response.status_code == 501, (
        response.status_code, response.request.method, response.request.url, response.text[:300])
    if response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        if scim:
            assert body["schemas"] == [ERROR_SCHEMA] and body["detail"], body
            assert body["status"] == str(response.status_code)
        else:
            assert isinstance(body, dict) and body


def assert_invariants() -> None:
    """Uniqueness, no orphan or cross-account rows."""
    live = DirectoryUser.objects.filter(deleted_at__isnull=True).annotate(
        lowered=Func(F("user_name"), function="LOWER"))
    pairs = list(live.values_list("account_id", "lowered"))
    assert len(pairs) == len(set(pairs)), "duplicate userName in an account"
    names = list(Group.objects.annotate(lowered=Func(F("display_name"), function="LOWER"))
                 .values_list("account_id", "lowered"))
    assert len(names) == len(set(names)), "duplicate group displayName in an account"
    assert not GroupMembership.objects.exclude(user__account=F("group__account")).exists()
    assert not UserEmail.objects.exclude(account=F("user__account")).exists()
    assert not Agent.objects.filter(user__isnull=False).exclude(account=F("user__account")).exists()
    assert not DirectoryUser.objects.filter(deleted_at__isnull=True, user_name="").exists()


@pytest.fixture
def targets(okta, globex_key, gunicorn_server):
    user = okta.create_user("target@acme.example").json()["id"]
    group = okta.create_group("Target", members=[user]).json()["id"]
    other = ScimClient(f"{gunicorn_server.url}/scim/v1", globex_key).create_user("o@globex.example")
    return {"user": user, "group": group, "other": other.json()["id"]}


@pytest.fixture(scope="module", autouse=True)
def report_tally():
    yield
    path = os.environ.get("FUZZ_REPORT")
    if path:
        with Path(path).open("a") as out:
            out.write(json.dumps(dict(TALLY)) + "\n")


def fill(text: str, targets: dict, key: str) -> str:
    return text.replace("{user}", targets["user"]).replace("{group}", targets["group"]).replace(
        "{other}", targets["other"]).replace("{key}", key)


@FUZZ
@example(method="GET", resource="/%0A", query={}, header_values={}, body=b"")  # was Django's HTML 404
@given(method=methods, resource=resources, query=queries, header_values=headers, body=any_body)
def test_generated_requests_to_the_live_server(okta, acme_key, targets, method, resource, query,
                                               header_values, body):
    extra = {name: fill(value, targets, acme_key) for name, value in header_values.items()}
    response = okta.session.request(
        method, okta.url(fill(resource, targets, acme_key)), params=query, headers=extra,
        data=body if method in ("POST", "PUT", "PATCH") else None, timeout=30, allow_redirects=False)
    check_answer(response)


@FUZZ
@given(body=st.one_of(bodies, okta_bodies), group_body=bodies)
def test_generated_creates_keep_the_invariants(okta, targets, body, group_body):
    members = group_body.get("members")
    if isinstance(members, list):
        group_body["members"] = [*members, {"value": targets["other"]}, {"value": targets["user"]}]
    check_answer(okta.post("/Users", body))
    check_answer(okta.post("/Groups", group_body))
    check_answer(okta.put(f"/Users/{targets['user']}", body))
    check_answer(okta.put(f"/Groups/{targets['group']}", group_body))
    assert_invariants()


@FUZZ
@given(ops=operations, target=st.sampled_from(["user", "group", "other"]))
def test_generated_patches_keep_the_invariants(okta, targets, ops, target):
    for op in ops:
        if isinstance(op.get("value"), list):
            op["value"] = [*op["value"], {"value": targets["other"]}]
    path = "/Groups/" if target == "group" else "/Users/"
    response = okta.patch(path + targets[target], ops)
    check_answer(response)
    if target == "other":
        assert response.status_code in (400, 404)
    assert_invariants()


@FUZZ
@given(body=st.one_of(st.dictionaries(st.sampled_from(["logon_name", "machine_name", "os"]) | st.text(max_size=8),
                                      json_values, max_size=4), json_values).map(lambda b: json.dumps(b).encode()) | raw_bodies,
       authorization=st.sampled_from(["Bearer {agent}", "Bearer {key}", "", "Bearer {agent}x"]) | header_text,
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_generated_agent_check_ins(gunicorn_server, transactional_db, acme, acme_key, body,
                                   authorization, content_type):
    agent_key = getattr(acme, "_fuzz_agent_key", None) or agent_key_regenerate(account=acme)
    acme._fuzz_agent_key = agent_key
    response = requests.post(
        f"{gunicorn_server.url}/api/agents/v1/check-in", data=body, timeout=30,
        headers={"Authorization": authorization.replace("{agent}", agent_key).replace("{key}", acme_key),
                 "Content-Type": content_type})
    check_answer(response, scim=False)
    assert_invariants()


@FUZZ
@example(data={"q": "\x00"}, page="/groups/")  # was a 500 (PostgreSQL refuses NUL)
@given(data=st.dictionaries(st.sampled_from(["name", "key", "confirm", "q", "status", "agents", "agent",
                                             "page", "email", "password"]) | st.text(max_size=6),
                            st.text(max_size=40), max_size=5),
       page=st.sampled_from(["/integrations/okta_scim/new/", "/integrations/instances/{pk}/",
                             "/integrations/instances/{pk}/regenerate/", "/integrations/instances/{pk}/delete/",
                             "/users/", "/groups/", "/agents/", "/accounts/login/",
                             "/integrations/instances/{pk}/activity/"]))
def test_generated_page_form_posts(client, alice, acme, data, page):
    from integrations.models import IntegrationInstance
    from integrations.services import instance_create

    instance = IntegrationInstance.objects.filter(account=acme, deleted_at__isnull=True).first()
    if instance is None:
        instance, _ = instance_create(account=acme, name="Fuzzed")
    client.force_login(alice)
    url = page.replace("{pk}", str(instance.pk))
    for response in (client.post(url, data), client.get(url, data)):
        TALLY["requests"] += 1
        assert response.status_code < 500, (url, data)
