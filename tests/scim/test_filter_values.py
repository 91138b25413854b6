"""A filter value that cannot be compared with its attribute is a SCIM 400, never a 500 and
never an answer."""

from __future__ import annotations

import pytest

IMPOSSIBLE_MOMENTS = [
    "2026-02-30T00:00:00Z",  # no such day
    "2026-13-01T00:00:00Z",  # no such month
    "2026-01-01T24:00:00Z",  # no such hour
    "2026-01-01T00:00:00+25:00",  # offset out of range
    "2026-01-01T00:00:00-24:30",
    "0000-01-01T00:00:00Z",  # year 0
    "10000-01-01T00:00:00Z",  # year 10000
    "9999-12-31T23:59:59-01:00",  # past year 9999 once in UTC
    "garbage",
    "",
]


@pytest.mark.parametrize("moment", IMPOSSIBLE_MOMENTS)
@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize("expression", ['meta.created eq "{}"', 'meta.lastModified gt "{}"'])
def test_impossible_dates_are_400_invalid_filter(scim, resource, expression, moment):
    response = scim.get(f"/{resource}", params={"filter": expression.format(moment)})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidFilter"
    assert "ISO 8601" in response.json()["detail"]


def test_impossible_dates_are_400_in_a_search_body(scim):
    response = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName pr and meta.created ge "2026-02-30T00:00:00Z"',
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidFilter"


def test_edge_dates_that_exist_are_answered(scim):
    created = scim.create_user("edge@acme.example").json()["meta"]["created"]
    for expression, expected in [
        ('meta.created gt "0001-01-02T00:00:00+01:00"', ["edge@acme.example"]),
        ('meta.created lt "9999-12-31T23:59:59Z"', ["edge@acme.example"]),
        ('meta.created ge "2026-01-01T00:00:00+23:59"', None),
        (f'meta.created eq "{created}"', ["edge@acme.example"]),
    ]:
        response = scim.get("/Users", params={"filter": expression})
        assert response.status_code == 200, (expression, response.text)
        if expected is not None:
            assert [r["userName"] for r in response.json()["Resources"]] == expected, expression


@pytest.mark.parametrize(
    ("resource", "expression", "named"),
    [
        ("Users", "userName gt 5", "'userName' is a string attribute"),
        ("Users", "userName gt 55", "'userName' is a string attribute: compare it with a quoted string, not the number 55"),
        ("Users", "active eq -1.5e3", "'active' is a boolean attribute"),
        ("Groups", "displayName eq 1000", "not the number 1000"),
        ("Users", 'active eq "yes"', "'active' is a boolean attribute"),
        ("Users", "meta.lastModified gt true", "'meta.lastModified' is a dateTime attribute"),
        ("Groups", "displayName eq 1", "'displayName' is a string attribute"),
    ],
)
def test_values_of_another_type_than_the_attribute_are_400_invalid_filter(scim, resource, expression, named):
    response = scim.get(f"/{resource}", params={"filter": expression})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidFilter"
    assert named in response.json()["detail"]
