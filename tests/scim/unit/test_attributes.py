"""attributes= and excludedAttributes=, and sortBy, table by table: no server, no database."""

from __future__ import annotations

import pytest
from django.db.models import F
from django.db.models.functions import Upper
from django_scim.exceptions import BadRequestError

from directory.scim.attributes import apply_selection, attribute_selection
from directory.scim.sorting import sort_field

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

DOCUMENT = {
    "schemas": [USER, ENTERPRISE],
    "id": "u1",
    "userName": "ann@acme.example",
    "name": {"givenName": "Ann", "familyName": "Smith"},
    "emails": [{"value": "ann@acme.example", "type": "work", "primary": True}],
    "active": True,
    ENTERPRISE: {"department": "R&D", "costCenter": "7"},
    "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z"},
}


@pytest.mark.parametrize(
    ("attributes", "excluded", "expected"),
    [
        (None, None, DOCUMENT),
        ("userName", None, {"schemas": DOCUMENT["schemas"], "id": "u1", "userName": "ann@acme.example"}),
        (
            "USERNAME, name.givenName",
            None,
            {"schemas": DOCUMENT["schemas"], "id": "u1", "userName": "ann@acme.example", "name": {"givenName": "Ann"}},
        ),
        (
            ["emails.value"],
            None,
            {"schemas": DOCUMENT["schemas"], "id": "u1", "emails": [{"value": "ann@acme.example"}]},
        ),
        (
            f"{USER}:active,{ENTERPRISE}:department",
            None,
            {"schemas": DOCUMENT["schemas"], "id": "u1", "active": True, ENTERPRISE: {"department": "R&D"}},
        ),
        (
            ENTERPRISE,
            None,
            {"schemas": DOCUMENT["schemas"], "id": "u1", ENTERPRISE: DOCUMENT[ENTERPRISE]},
        ),
        ("id", None, {"schemas": DOCUMENT["schemas"], "id": "u1"}),
        (
            None,
            "emails,meta,name.familyName",
            {k: v for k, v in DOCUMENT.items() if k not in ("emails", "meta", "name")}
            | {"name": {"givenName": "Ann"}},
        ),
        (None, "id", DOCUMENT),  # always returned
        (None, ENTERPRISE, {k: v for k, v in DOCUMENT.items() if k != ENTERPRISE}),
        (
            None,
            f"{ENTERPRISE}:costCenter",
            DOCUMENT | {ENTERPRISE: {"department": "R&D"}},
        ),
        ("", "", DOCUMENT),
    ],
)
def test_attribute_selection_trims_documents(attributes, excluded, expected):
    selection = attribute_selection(attributes, excluded, USER)
    assert apply_selection(DOCUMENT, selection, USER) == expected


@pytest.mark.parametrize(
    ("attributes", "excluded", "named"),
    [
        ("nickName2", None, "nickName2"),
        (None, "password2", "password2"),
        ("urn:example:custom:User", None, "urn:example:custom:User"),
        ("urn:example:custom:User:color", None, "color"),
        ([7], None, "attributes"),
        # a .search body can hold any JSON
        (7, None, "attributes must be"),
        (None, {"userName": True}, "excludedAttributes must be"),
    ],
)
def test_unknown_attributes_are_400(attributes, excluded, named):
    with pytest.raises(BadRequestError) as raised:
        attribute_selection(attributes, excluded, USER)
    assert raised.value.status == 400
    assert named in raised.value.detail


@pytest.mark.parametrize(
    ("sort_by", "order", "schema", "expected"),
    [
        (None, None, USER, ["id"]),
        ("userName", None, USER, [Upper("user_name").asc(), "id"]),
        ("username", "DESCENDING", USER, [Upper("user_name").desc(), "-id"]),
        ("meta.created", "ascending", USER, [F("created_at").asc(), "id"]),
        ("emails.value", None, USER, [Upper("email").asc(), "id"]),
        (f"{USER}:name.familyName", None, USER, [Upper("family_name").asc(), "id"]),
        ("displayName", "descending", GROUP, [Upper("display_name").desc(), "-id"]),
    ],
)
def test_sort_orders(sort_by, order, schema, expected):
    assert sort_field(sort_by, order, schema) == expected


@pytest.mark.parametrize(
    ("sort_by", "order", "scim_type"),
    [
        ("password", None, "invalidFilter"),
        ("members", None, "invalidFilter"),
        ("userName", "sideways", "invalidValue"),
        # a .search body can hold any JSON
        (["userName"], None, "invalidFilter"),
        (5, None, "invalidFilter"),
        ("userName", 5, "invalidValue"),
        ("userName", ["descending"], "invalidValue"),
    ],
)
def test_unsupported_sorts_are_400(sort_by, order, scim_type):
    with pytest.raises(BadRequestError) as raised:
        sort_field(sort_by, order, USER)
    assert raised.value.scim_type == scim_type
