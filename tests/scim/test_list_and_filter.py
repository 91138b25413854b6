"""Filtering, paging, sorting and attribute selection on /Users and /Groups."""

from __future__ import annotations

import pytest

from tests.scim_client import ENTERPRISE_SCHEMA


@pytest.fixture
def people(scim):
    users = {}
    for index, (name, given, title) in enumerate(
        [("ann@acme.example", "Ann", "Engineer"), ("Bob@acme.example", "Bob", "Manager"), ("cat@other.example", "Cat", "Engineer")]
    ):
        body = {"title": title, ENTERPRISE_SCHEMA: {"department": "R&D" if index != 1 else "Sales"}}
        users[given] = scim.create_user(name, given, "Smith", **body).json()
    scim.put(f"/Users/{users['Cat']['id']}", {**users["Cat"], "active": False})
    return users


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [resource["userName"] for resource in response.json()["Resources"]]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "BOB@ACME.EXAMPLE"', ["Bob@acme.example"]),
        ('userName ne "bob@acme.example"', ["ann@acme.example", "cat@other.example"]),
        ('userName co "acme"', ["ann@acme.example", "Bob@acme.example"]),
        ('userName sw "B"', ["Bob@acme.example"]),
        ('userName ew "other.example"', ["cat@other.example"]),
        ("title pr", ["ann@acme.example", "Bob@acme.example", "cat@other.example"]),
        ('userName gt "b"', ["Bob@acme.example", "cat@other.example"]),
        ("active eq false", ["cat@other.example"]),
        ('active eq true and title eq "engineer"', ["ann@acme.example"]),
        ('title eq "Manager" or name.givenName eq "cat"', ["Bob@acme.example", "cat@other.example"]),
        ('not (title eq "Engineer")', ["Bob@acme.example"]),
        # and binds tighter than or (RFC 7644 3.4.2.2)
        ('title eq "Manager" or title eq "Engineer" and active eq false', ["Bob@acme.example", "cat@other.example"]),
        ('(title eq "Manager" or title eq "Engineer") and active eq false', ["cat@other.example"]),
        ('emails.value eq "CAT@other.example"', ["cat@other.example"]),
        ('emails[type eq "work" and value co "ann"]', ["ann@acme.example"]),
        ('emails[type eq "work"].value eq "bob@acme.example"', ["Bob@acme.example"]),
        ('externalId eq "00ujl29u0le5T6Aj10h7"', ["ann@acme.example", "Bob@acme.example", "cat@other.example"]),
        ('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"', ["Bob@acme.example"]),
        ('id eq "not-a-uuid"', []),
        ('meta.lastModified gt "2000-01-01T00:00:00Z"', ["ann@acme.example", "Bob@acme.example", "cat@other.example"]),
        ('meta.created lt "2000-01-01T00:00:00Z"', []),
    ],
)
def test_user_filters(scim, people, expression, expected):
    assert names(scim.get("/Users", params={"filter": expression})) == expected


def test_filter_by_id(scim, people):
    assert names(scim.get("/Users", params={"filter": f'id eq "{people["Bob"]["id"]}"'})) == ["Bob@acme.example"]


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ('nickName2 eq "x"', "nickName2"),
        ('userName zz "x"', "syntax"),
        ('userName eq "x" and (', "syntax"),
        ('active gt true', "active"),
        ('id co "1"', "id"),
        ('meta.created gt "yesterday"', "yesterday"),
        ('urn:example:custom:User:color eq "red"', "urn:example:custom:User"),
        ('password eq "x"', "password"),
        ("(" * 990 + "title pr" + ")" * 990, "more than 32 deep"),
        ("not (" * 330 + "title pr" + ")" * 330, "more than 32 deep"),
    ],
)
def test_unsupported_filters_are_400_invalid_filter_naming_the_problem(scim, people, expression, named):
    response = scim.get("/Users", params={"filter": expression})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    assert named in response.json()["detail"]


def test_paging_is_stable_one_based_and_counts_everything(scim, people):
    for index in range(7):
        scim.create_user(f"page{index}@acme.example")
    seen = []
    for start in range(1, 11, 3):
        page = scim.get("/Users", params={"startIndex": start, "count": 3}).json()
        assert page["totalResults"] == 10 and page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"])
        seen += [r["id"] for r in page["Resources"]]
    assert len(seen) == len(set(seen)) == 10

    zero = scim.get("/Users", params={"startIndex": 0, "count": 2}).json()
    assert zero["startIndex"] == 1 and zero["itemsPerPage"] == 2
    none = scim.get("/Users", params={"count": 0}).json()
    assert none["totalResults"] == 10 and none["Resources"] == []
    past_end = scim.get("/Users", params={"startIndex": 50}).json()
    assert past_end["Resources"] == [] and past_end["totalResults"] == 10


def test_every_page_is_the_same_slice_of_one_order_front_half_or_back(scim, people):
    """Pages past the middle are read from the end; they must still be the slice asked for,
    and a tombstoned user must be neither counted nor listed."""
    for index in range(9):
        scim.create_user(f"slice{index}@acme.example")
    gone = scim.create_user("gone@acme.example").json()
    assert scim.delete(f"/Users/{gone['id']}").status_code == 204
    everyone = scim.get("/Users", params={"count": 100}).json()
    order = [r["id"] for r in everyone["Resources"]]
    assert everyone["totalResults"] == len(order) == 12 and gone["id"] not in order
    for count in (1, 2, 5, 12):
        for start in range(1, 15):
            page = scim.get("/Users", params={"startIndex": start, "count": count}).json()
            assert page["totalResults"] == 12
            assert [r["id"] for r in page["Resources"]] == order[start - 1 : start - 1 + count]


@pytest.mark.parametrize(("start", "count", "expected_total"), [(1, 100, 9), (1, 9, 9), (1, 4, 9), (8, 4, 9), (20, 4, 9), (1, 0, 9)])
def test_filtered_totals_are_exact_whether_or_not_the_page_tells(scim, people, start, count, expected_total):
    for index in range(7):
        scim.create_user(f"filtered{index}@acme.example")
    response = scim.get("/Users", params={"filter": 'userName co "@acme.example"', "startIndex": start, "count": count}).json()
    matching = sorted(r["userName"] for r in scim.get("/Users", params={"count": 100}).json()["Resources"] if "@acme.example" in r["userName"])
    assert response["totalResults"] == expected_total == len(matching)
    assert response["itemsPerPage"] == len(response["Resources"]) == max(0, min(count, expected_total - start + 1))


def test_count_is_capped_at_max_results(scim, people, settings):
    settings.SCIM_MAX_RESULTS = 2  # fewer than the three users, so the cap has work to do
    response = scim.get("/Users", params={"count": 100000}).json()
    assert response["totalResults"] == 3
    assert response["itemsPerPage"] == len(response["Resources"]) == 2
    second = scim.get("/Users", params={"count": 100000, "startIndex": 3}).json()
    assert len(second["Resources"]) == 1


def test_non_integer_paging_is_a_400(scim):
    response = scim.get("/Users", params={"count": "ten"})
    assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"


def test_sorting(scim, people):
    ascending = names(scim.get("/Users", params={"sortBy": "name.givenName"}))
    descending = names(scim.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"}))
    assert ascending == ["ann@acme.example", "Bob@acme.example", "cat@other.example"]
    assert descending == ["cat@other.example", "Bob@acme.example", "ann@acme.example"]
    bad = scim.get("/Users", params={"sortBy": "phoneNumbers"})
    assert bad.status_code == 400 and "phoneNumbers" in bad.json()["detail"]


def test_attributes_and_excluded_attributes(scim, people):
    only = scim.get("/Users", params={"attributes": "userName,name.givenName"}).json()["Resources"][0]
    assert set(only) == {"schemas", "id", "userName", "name"} and only["name"] == {"givenName": "Ann"}

    without = scim.get(f"/Users/{people['Ann']['id']}", params={"excludedAttributes": "groups,emails,meta"}).json()
    assert "groups" not in without and "emails" not in without and "meta" not in without
    assert without["userName"] == "ann@acme.example"

    enterprise = scim.get("/Users", params={"attributes": f"{ENTERPRISE_SCHEMA}:department"}).json()
    assert enterprise["Resources"][0][ENTERPRISE_SCHEMA] == {"department": "R&D"}

    unknown = scim.get("/Users", params={"attributes": "shoeSize"})
    assert unknown.status_code == 400 and "shoeSize" in unknown.json()["detail"]


def test_search_endpoint_takes_a_search_request(scim, people):
    response = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'title eq "Engineer"',
            "startIndex": 1,
            "count": 1,
            "attributes": ["userName"],
            "sortBy": "userName",
            "sortOrder": "descending",
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert body["totalResults"] == 2 and [r["userName"] for r in body["Resources"]] == ["cat@other.example"]
    assert set(body["Resources"][0]) == {"schemas", "id", "userName"}
    wrong = scim.post("/Users/.search", {"filter": "title pr"})
    assert wrong.status_code == 400 and wrong.json()["scimType"] == "invalidSyntax"


def test_group_filters_and_search(scim, people):
    engineering = scim.create_group("Engineering", [people["Ann"]["id"]]).json()
    scim.create_group("Sales")

    by_name = scim.find_group("ENGINEERING").json()
    by_member = scim.get("/Groups", params={"filter": f'members.value eq "{people["Ann"]["id"]}"'}).json()
    searched = scim.post("/Groups/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'displayName sw "s"'}).json()
    no_members = scim.get("/Groups", params={"excludedAttributes": "members"}).json()

    assert [g["id"] for g in by_name["Resources"]] == [engineering["id"]]
    assert [g["id"] for g in by_member["Resources"]] == [engineering["id"]]
    assert [g["displayName"] for g in searched["Resources"]] == ["Sales"]
    assert all("members" not in g for g in no_members["Resources"]) and no_members["totalResults"] == 2


def test_user_groups_filter(scim, people):
    group = scim.create_group("Engineering", [people["Bob"]["id"]]).json()
    assert names(scim.get("/Users", params={"filter": f'groups.value eq "{group["id"]}"'})) == ["Bob@acme.example"]


SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.mark.parametrize(
    ("parameters", "scim_type", "named"),
    [
        ({"sortBy": ["userName"]}, "invalidFilter", "sortBy"),
        ({"sortBy": 5}, "invalidFilter", "sortBy"),
        ({"sortOrder": 5}, "invalidValue", "sortOrder"),
        ({"sortOrder": ["descending"]}, "invalidValue", "sortOrder"),
        ({"attributes": 5}, "invalidFilter", "attributes must be"),
        ({"excludedAttributes": {"userName": True}}, "invalidFilter", "excludedAttributes must be"),
        ({"startIndex": 1.5}, "invalidValue", "startIndex"),
        ({"count": 0.5}, "invalidValue", "count"),
    ],
)
def test_search_parameters_of_the_wrong_json_type_are_400s(scim, parameters, scim_type, named):
    response = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], **parameters})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == scim_type
    assert named in response.json()["detail"]


def test_a_start_index_past_any_table_is_an_empty_page(scim, people):
    huge = 10**30
    for filtered in ({}, {"filter": "userName pr"}):
        listed = scim.get("/Users", params={"startIndex": huge, **filtered})
        searched = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "startIndex": huge, **filtered})
        for response in (listed, searched):
            assert response.status_code == 200, (filtered, response.text)
            assert response.json()["Resources"] == [] and response.json()["totalResults"] == 3
    whole = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "startIndex": 2.0, "count": 1.0})
    assert whole.status_code == 200 and whole.json()["itemsPerPage"] == 1


@pytest.mark.parametrize("expression", ['externalId eq "00ujl29u0le5T6Aj10h7"', 'externalId sw "00ujl29u0le5T6Aj10h7"'])
@pytest.mark.parametrize(("start", "count"), [(1, 100), (2, 1), (3, 100), (4, 1), (1, 0), (99999999999999999999, 10)])
def test_an_eq_lookup_pages_and_counts_as_every_other_filter(scim, people, expression, start, count):
    """The one-statement ``eq`` lookup and the general filter agree on every page and total,
    a startIndex past SQL's largest OFFSET included."""
    response = scim.get("/Users", params={"filter": expression, "startIndex": start, "count": count})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == len(body["Resources"]) == max(0, min(count, 3 - start + 1))
