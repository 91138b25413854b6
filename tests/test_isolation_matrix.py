"""Isolation matrix: globex's SCIM key, agent key and admin (charlie) against every endpoint,
method and page, aimed at acme's ids and lists. The answer is 404 or an empty list, never
acme's data, and acme's rows are unchanged afterwards. Each account page is also sent its real
form fields and actions naming acme's objects, on acme's URLs and on globex's own pages.

The URL patterns are enumerated from the resolver, so a new endpoint or page fails
``test_every_url_pattern_is_covered`` until this matrix knows about it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import pytest
from django.db.models import Q
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from directory.agent_services import agent_assign, agent_check_in, agents_merge
from directory.models import Agent, DirectoryUser, Group, GroupMembership
from integrations.guides import GUIDE_FILES
from integrations.models import AgentKey, ApiKey, IntegrationInstance
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
    memberships = GroupMembership.objects.filter(Q(group__account=account) | Q(user__account=account))
    return {
        "users": sorted(users.values_list("scim_id", "user_name", "given_name", "is_active", "deleted_at")),
        "groups": sorted(Group.objects.filter(account=account).values_list("scim_id", "display_name")),
        "members": sorted(memberships.values_list("group__scim_id", "user__scim_id")),
        "agents": sorted(Agent.objects.filter(account=account).values_list(
            "public_id", "user_id", "machine_name", "merged_into_id", "is_manually_assigned")),
        "instances": sorted(IntegrationInstance.objects.filter(account=account).values_list("pk", "name", "deleted_at")),
        "keys": sorted(ApiKey.objects.filter(instance__account=account).values_list("pk", "revoked_at")),
        "agent_keys": sorted(AgentKey.objects.filter(account=account).values_list("pk", "revoked_at")),
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
        if name not in PAGE_FORMS:
            uncovered.append((name, "its forms are not in PAGE_FORMS"))
        converters = getattr(pattern.pattern, "converters", {}).values()
        if any(type(c).__name__ == "UUIDConverter" for c in converters) and name not in PAGE_OBJECTS:
            uncovered.append((name, "its object is not in PAGE_OBJECTS"))
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
            # The page world keeps agents by their public id, as the forms post them.
            agent = getattr(world["agent"], "public_id", world["agent"]) if world else None
            values = [world["user"].scim_id, world["group"].scim_id, agent] if world else [uuid.uuid4()]
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


def tenant_world(account, name: str) -> dict:
    """An account's objects for the page matrix: a user with a primary agent, a second agent and
    an alias merged into the first, an unassigned agent, a second user, a product-side group
    holding the first user, an instance and an agent key."""
    domain = f"{account.slug}.example"
    user = DirectoryUser.objects.create(account=account, user_name=f"{name}.one@{domain}")
    other = DirectoryUser.objects.create(account=account, user_name=f"{name}.two@{domain}")
    agents = {}
    for role in ("agent", "agent2", "alias", "unassigned"):
        agents[role], _ = agent_check_in(
            account=account, logon_name=f"{name}-{role}@{domain}",
            machine_name=f"{name.upper()}-{role}-PC",
        )
    for role in ("agent", "agent2", "alias"):
        agent_assign(agent=agents[role], user=user)
    agents_merge(primary=agents["agent"], others=[agents["alias"]])
    group = Group.objects.create(account=account, display_name=f"{name} team", source=Group.SOURCE_PRODUCT)
    GroupMembership.objects.create(group=group, user=user)
    instance, key = instance_create(account=account, name=f"{name} Okta")
    agent_key_regenerate(account=account)
    return {"user": user, "other": other, "group": group, "instance": instance, "key": key,
            **{role: str(agent.public_id) for role, agent in agents.items()}}


@pytest.fixture
def acme_pages(acme_world):
    """acme's page objects, named so that globex's pages must never show them."""
    world = tenant_world(acme_world["user"].account, "acmehidden")
    markers = [*acme_world["markers"], "acmehidden", "ACMEHIDDEN-", str(world["user"].scim_id),
               str(world["group"].scim_id), world["key"],
               *(world[role] for role in ("agent", "agent2", "alias", "unassigned"))]
    return {**world, "markers": markers}


@pytest.fixture
def globex_pages(globex):
    return tenant_world(globex, "globexown")


# Every URL name of the account pages, with the bodies its forms POST (the fields and actions in
# templates/directory/*.html, templates/integrations/*.html and the views that read them). Each
# body is built from ``t``, the account whose objects the fields name, and ``own``, the
# signed-in admin's account. Aimed at acme (t = acme), nothing of acme's may change; aimed at
# globex's own objects (t = own), every body changes something, so each one reaches its branch.
PAGE_FORMS = {
    "integrations:home": [],
    "integrations:index": [],
    "integrations:guide": [],
    "integrations:instance-list": [],
    "integrations:instance-new": [
        lambda t, own: {"name": "pwned", "key": t["key"], "acknowledged": "on"},
    ],
    "integrations:instance-detail": [lambda t, own: {"name": "pwned"}],
    "integrations:instance-regenerate": [lambda t, own: {"confirm": "yes"}],
    "integrations:instance-rotate": [lambda t, own: {"overlap_hours": "24"}],
    "integrations:instance-delete": [lambda t, own: {"confirm": "yes"}],
    "integrations:instance-activity": [],
    "directory:user-list": [],
    "directory:user-detail": [],
    "directory:user-merge-agents": [
        lambda t, own: {"primary": own["agent"], "others": [t["agent2"]]},
        lambda t, own: {"primary": t["agent"], "others": [t["agent2"]]},
    ],
    "directory:user-unmerge-agent": [lambda t, own: {"agent": t["alias"]}],
    "directory:user-assign-agent": [lambda t, own: {"agent": t["unassigned"]}],
    "directory:agent-list": [
        lambda t, own: {"action": "assign", "agent": t["unassigned"], "user_name": own["other"].user_name},
        lambda t, own: {"action": "assign", "agent": own["agent2"], "user_name": t["other"].user_name},
        lambda t, own: {"action": "regenerate-key"},
    ],
    "directory:group-list": [lambda t, own: {"display_name": "pwned"}],
    "directory:group-detail": [
        lambda t, own: {"action": "add", "user_name": t["other"].user_name},
        lambda t, own: {"action": "remove", "user_name": t["user"].user_name},
        lambda t, own: {"action": "rename", "display_name": "pwned"},
        lambda t, own: {"action": "delete"},
    ],
}
# Query strings the pages read, aimed at the same way.
PAGE_QUERIES = {
    "directory:user-list": lambda t: [{"group": str(t["group"].scim_id)}, {"q": t["user"].user_name}],
    "directory:group-list": lambda t: [{"q": t["group"].display_name}],
    "integrations:instance-activity": lambda t: [{"outcome": "failure"}],
}
# The pages that need an object, and which of the world's objects is theirs.
PAGE_OBJECTS = {
    "directory:user-detail": "user", "directory:user-merge-agents": "user",
    "directory:user-unmerge-agent": "user", "directory:user-assign-agent": "user",
    "directory:group-detail": "group",
}


def page_patterns() -> dict:
    return {name: pattern for name, pattern in url_patterns()
            if name and name.startswith(("directory:", "integrations:"))}


def own_page_kwargs(name: str, pattern: URLPattern, own: dict) -> list[dict]:
    """The page aimed at the signed-in admin's own object: exactly one per id converter."""
    choices: list[dict] = [{}]
    for field, converter in getattr(pattern.pattern, "converters", {}).items():
        kind = type(converter).__name__
        if kind == "UUIDConverter":
            values = [own[PAGE_OBJECTS[name]].scim_id]
        elif kind == "IntConverter":
            values = [own["instance"].pk]
        else:
            values = [v for choice in page_kwargs_for(pattern, None) for k, v in choice.items() if k == field]
        choices = [{**choice, field: value} for choice in choices for value in values]
    return choices


def page_responses(client, url: str, name: str, t: dict, own: dict) -> Iterator[tuple]:
    """(response, everything sent so far) for a GET, a GET per query string and a POST per
    form, one at a time. A page may echo what the client sent, also on the next page (a flash
    message)."""
    sent = ""
    for query in [{}, *PAGE_QUERIES.get(name, lambda _: [])(t)]:
        sent += str(query)
        yield client.get(url, query), sent
    for form in PAGE_FORMS[name]:
        body = form(t, own)
        sent += str(body)
        yield client.post(url, body), sent


@pytest.mark.parametrize("name", sorted(PAGE_FORMS))
def test_globex_admin_pages_aimed_at_acme_show_and_change_nothing(
    client, acme_world, acme_pages, globex_pages, charlie, name
):
    acme = acme_world["user"].account
    before = snapshot(acme)
    client.force_login(charlie)
    pattern = page_patterns()[name]
    acme_ids = {str(value) for value in (
        acme_world["user"].scim_id, acme_world["group"].scim_id, acme_world["agent"].public_id,
        acme_world["instance"].pk, acme_pages["user"].scim_id, acme_pages["group"].scim_id,
        acme_pages["instance"].pk, acme_pages["agent"])}
    probed = 0
    # acme's objects in the URL (each acme id in each id converter): a 404 for the page, its
    # queries and every form (405 for a GET where only POST is allowed).
    for kwargs in page_kwargs_for(pattern, acme_world) + page_kwargs_for(pattern, acme_pages):
        if not {str(value) for value in kwargs.values()} & acme_ids:
            continue
        url = reverse(name, kwargs=kwargs)
        for response, sent in page_responses(client, url, name, acme_pages, globex_pages):
            probed += 1
            assert response.status_code in (404, 405), (url, sent, response.status_code)
            assert_no_leak(response, acme_pages["markers"], sent=sent)
            # After each request: a later one (deleting globex's group) could hide a change.
            assert snapshot(acme) == before, (url, sent)
    # globex's own page, with acme's objects in the form fields and the query strings.
    for kwargs in own_page_kwargs(name, pattern, globex_pages):
        url = reverse(name, kwargs=kwargs)
        for response, sent in page_responses(client, url, name, acme_pages, globex_pages):
            probed += 1
            assert response.status_code < 500, (url, sent, response.status_code)
            assert_no_leak(response, acme_pages["markers"], sent=sent)
            assert snapshot(acme) == before, (url, sent)
    assert probed >= 1 + len(PAGE_FORMS[name])


@pytest.mark.parametrize("name", sorted(name for name, forms in PAGE_FORMS.items() if forms))
def test_the_page_forms_the_matrix_sends_change_globex_own_objects(
    client, acme_pages, globex_pages, charlie, name
):
    """The bodies above are the pages' real fields and actions: aimed at globex's own objects,
    each one changes globex's data (so aimed at acme, each one reached its handler's branch)."""
    client.force_login(charlie)
    globex = globex_pages["user"].account
    kwargs = own_page_kwargs(name, page_patterns()[name], globex_pages)[0]
    url = reverse(name, kwargs=kwargs)
    # Aimed at one account the bodies of a page may coincide; each distinct one changes something.
    forms = list({repr(form(globex_pages, globex_pages)): form for form in PAGE_FORMS[name]}.values())
    if name == "integrations:instance-new":
        # The drawer saves only the key it showed this session.
        page = client.get(url).content.decode()
        shown = re.search(r'value="(atk_scim_[^"]+)"', page).group(1)
        forms = [lambda t, own: {"name": "Fresh", "key": shown, "acknowledged": "on"}]
    for form in forms:
        before = snapshot(globex)
        response = client.post(url, form(globex_pages, globex_pages))
        assert response.status_code < 400, (name, form(globex_pages, globex_pages), response.status_code)
        assert snapshot(globex) != before, (name, form(globex_pages, globex_pages))


def test_django_admin_is_staff_only(client, acme_world, charlie):
    client.force_login(charlie)
    response = client.get("/admin/directory/directoryuser/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
