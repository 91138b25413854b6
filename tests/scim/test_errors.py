"""Malformed requests get SCIM errors with the right status and scimType, never a 500."""

from __future__ import annotations

import logging

import pytest
import requests

from directory.models import DirectoryUser
from tests.scim_client import ERROR_SCHEMA, USER_SCHEMA


def assert_scim_error(response, status: int, scim_type: str | None = None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == str(status) and body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"[1, 2]", b"", b"\xff\xfe", b'"a string"', b"[" * 5000 + b"]" * 5000],
)
def test_bad_json_is_invalid_syntax(scim, data):
    response = scim.request("POST", "/Users", data=data, headers={"Content-Type": "application/scim+json"})
    assert_scim_error(response, 400, "invalidSyntax")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": {"givenName": "x"}}, "userName"),
        ({"userName": ""}, "userName"),
        ({"userName": 42}, "userName"),
        ({"userName": "a@b.c", "active": "sometimes"}, "active"),
        ({"userName": "a@b.c", "emails": "a@b.c"}, "emails"),
        ({"userName": "a@b.c", "emails": [{"type": "work"}]}, "email"),
        ({"userName": "a@b.c", "name": "Ann"}, "name"),
        ({"userName": "x" * 400}, "userName"),
        ({"userName": "a@b.c", "displayName": {"a": 1}}, "displayName"),
    ],
)
def test_invalid_user_bodies_are_400_invalid_value_and_create_nothing(scim, body, named):
    response = scim.post("/Users", body)
    assert_scim_error(response, 400, "invalidValue")
    assert named in response.json()["detail"]
    assert not DirectoryUser.objects.exists()


def test_unknown_attributes_and_empty_values_are_accepted(scim):
    response = scim.create_user(
        "ann@acme.example",
        nickName="",
        title=None,
        costCenter="ignored",
        **{"urn:okta:custom:attributes": {"color": "red"}, "name": {"givenName": "", "familyName": None}},
    )
    assert response.status_code == 201, response.text
    assert "title" not in response.json() and "name" not in response.json()


def test_body_over_one_mebibyte_is_413(scim):
    big = b'{"userName": "' + b"a" * (1024 * 1024) + b'"}'
    response = scim.request("POST", "/Users", data=big, headers={"Content-Type": "application/scim+json"})
    assert_scim_error(response, 413)


def test_unsupported_content_type_is_415_but_json_and_charset_variants_are_fine(scim):
    form = scim.request("POST", "/Users", data=b"userName=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_scim_error(form, 415)
    for content_type in ("application/json", "application/scim+json", "application/json; charset=UTF-8"):
        body = b'{"userName": "ct-%d@acme.example"}' % hash(content_type)
        response = scim.request("POST", "/Users", data=body, headers={"Content-Type": content_type})
        assert response.status_code == 201, (content_type, response.text)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"userName": "zoë@acme.example"}'.encode("utf-16"), "application/scim+json; charset=utf-16"),
        ('{"userName": "zoë@acme.example"}'.encode("latin-1"), "application/scim+json; charset=ISO-8859-1"),
        (b'{"userName": "ascii@acme.example"}', "application/json; charset=windows-1252"),
        (b'{"userName": "ascii@acme.example"}', "application/scim+json; charset=no-such-charset"),
    ],
)
def test_a_body_declared_in_a_charset_other_than_utf8_is_415_naming_it(scim, body, content_type):
    response = scim.request("POST", "/Users", data=body, headers={"Content-Type": content_type})
    assert_scim_error(response, 415, "invalidSyntax")
    assert content_type.rpartition("=")[2] in response.json()["detail"]
    assert not DirectoryUser.objects.exists()


def test_utf8_and_ascii_charsets_are_fine(scim):
    for n, charset in enumerate(("utf-8", "UTF8", '"utf-8"', "us-ascii")):
        body = f'{{"userName": "cs{n}@acme.example"}}'.encode()
        response = scim.request(
            "POST", "/Users", data=body, headers={"Content-Type": f"application/scim+json; charset={charset}"}
        )
        assert response.status_code == 201, (charset, response.text)


def test_unknown_methods_and_collection_writes_are_405(scim):
    assert_scim_error(scim.request("OPTIONS", "/Users"), 405)
    assert_scim_error(scim.request("PUT", "/Users", {"userName": "x"}), 405)
    assert_scim_error(scim.request("DELETE", "/Groups"), 405)
    assert_scim_error(scim.request("GET", "/Users/.search"), 405)


@pytest.mark.parametrize("resource_id", ["010101001010101011001010101011", "00919288221112222", "x" * 300, "%00", "'; drop table"])
def test_unknown_and_malformed_ids_are_404_for_every_method(scim, resource_id):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        body = {"userName": "x"} if method == "PUT" else None
        if method == "PATCH":
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": False}}]}
        response = scim.request(method, f"/Users/{resource_id}", body)
        assert_scim_error(response, 404)


def test_paths_tolerate_trailing_and_doubled_slashes_without_redirects(live_server, scim):
    created = scim.create_user("slash@acme.example").json()
    for path in ("/Users/", "//Users", f"/Users/{created['id']}/", f"//Users//{created['id']}"):
        response = scim.get(path)
        assert response.status_code == 200, path
    assert scim.get("/Nope").status_code == 404
    assert_scim_error(scim.get("/Bulk"), 501)


def test_if_match_protects_against_lost_updates(scim):
    user = scim.create_user("etag@acme.example").json()
    stale = user["meta"]["version"]
    scim.put(f"/Users/{user['id']}", {**user, "title": "First"})

    conflict = scim.put(f"/Users/{user['id']}", {**user, "title": "Second"}, headers={"If-Match": stale})
    fresh = scim.get(f"/Users/{user['id']}")
    ok = scim.put(f"/Users/{user['id']}", {**user, "title": "Second"}, headers={"If-Match": fresh.headers["ETag"]})
    not_modified = scim.get(f"/Users/{user['id']}", headers={"If-None-Match": ok.headers["ETag"]})

    assert_scim_error(conflict, 412)
    assert ok.status_code == 200 and ok.json()["title"] == "Second"
    assert not_modified.status_code == 304


def test_requests_without_a_body_content_type_on_get_are_fine(live_server, acme_key):
    response = requests.get(
        f"{live_server.url}/scim/v1/Users",
        headers={"Authorization": f"Bearer {acme_key}", "Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.status_code == 200


def test_a_host_it_does_not_serve_gets_a_scim_400_and_nothing_is_served(live_server, scim):
    elsewhere = {"Host": "evil.example"}
    listed = scim.get("/Users", headers=elsewhere)
    created = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "host@acme.example"}, headers=elsewhere)
    page = requests.get(f"{live_server.url}/accounts/login/", headers=elsewhere, timeout=10)

    for response in (listed, created):
        assert_scim_error(response, 400)
        assert "does not serve the host 'evil.example'" in response.json()["detail"]
        assert "ALLOWED_HOSTS" not in response.text
    assert not DirectoryUser.objects.exists()
    # Pages keep the site's own 400 page.
    assert page.status_code == 400 and page.headers["Content-Type"].startswith("text/html")
    assert scim.get("/Users").status_code == 200


SECURITY_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy", "X-Frame-Options")


def test_a_refused_host_gets_the_headers_every_scim_response_gets(scim):
    normal = scim.get("/Users/2819c223-7f76-4539-a919-d41386190464")  # a SCIM 404 from the view
    refused = scim.get("/Users", headers={"Host": "evil.example"})

    assert_scim_error(normal, 404)
    assert_scim_error(refused, 400)
    assert {name.lower() for name in refused.headers} == {name.lower() for name in normal.headers}
    for name in SECURITY_HEADERS:
        assert refused.headers[name] == normal.headers[name], name
    assert int(refused.headers["Content-Length"]) == len(refused.content)


def test_a_refused_host_over_https_gets_hsts_like_every_response(settings, client, acme_key):
    settings.SECURE_HSTS_SECONDS = 3600  # read when the client's handler loads the middleware
    auth = {"HTTP_AUTHORIZATION": f"Bearer {acme_key}"}
    normal = client.get("/scim/v1/Users", secure=True, **auth)
    refused = client.get("/scim/v1/Users", secure=True, HTTP_HOST="evil.example", **auth)

    assert normal.status_code == 200 and refused.status_code == 400
    assert refused["Strict-Transport-Security"] == normal["Strict-Transport-Security"]
    assert {name: refused.get(name) for name in SECURITY_HEADERS} == {name: normal[name] for name in SECURITY_HEADERS}


def test_a_body_declaring_another_resource_schema_is_invalid_syntax(scim):
    group_body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "x@acme.example"}
    response = scim.post("/Users", group_body)
    assert_scim_error(response, 400, "invalidSyntax")
    assert "urn:ietf:params:scim:schemas:core:2.0:User" in response.json()["detail"]
    assert scim.post("/Users", {"userName": "no.schemas@acme.example"}).status_code == 201


def test_nul_characters_are_refused_not_stored(scim):
    response = scim.post("/Users", {"userName": "nul\u0000@acme.example"})
    assert_scim_error(response, 400, "invalidValue")
    assert_scim_error(scim.get("/Users", params={"filter": 'userName eq "a\u0000"'}), 400, "invalidFilter")
    assert_scim_error(scim.delete("/Users/%00" + "x" * 200), 404)
    assert not DirectoryUser.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"userName": "ok@acme.example", "name": {"givenName": "A\u0000"}},
        {"userName": "ok@acme.example", "emails": [{"value": "e@acme.example", "type\u0000": "work"}]},
        {"userName": "ok@acme.example", "urn:example:x": {"deep": [[{"k\u0000": 1}]]}},
        {"userName": "ok@acme.example", "addresses": [{"region": ["x", "y\u0000"]}]},
    ],
)
def test_nul_characters_anywhere_in_the_body_are_refused(scim, body):
    assert_scim_error(scim.post("/Users", body), 400, "invalidValue")
    assert not DirectoryUser.objects.exists()


def test_text_that_merely_spells_an_escape_is_stored_as_sent(scim):
    response = scim.post("/Users", {"userName": "slash@acme.example", "title": "C:\\u0000 drive"})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "C:\\u0000 drive"


def test_absurd_nesting_is_invalid_syntax(scim):
    nested: object = "x"
    for _ in range(40):
        nested = [nested]
    assert_scim_error(scim.post("/Users", {"userName": "deep@acme.example", "x": nested}), 400, "invalidSyntax")
    assert not DirectoryUser.objects.exists()


def test_values_orjson_cannot_print_still_make_a_200(scim):
    """An operator can store any JSON in admin, including integers past 64 bits."""
    created = scim.create_user("big@acme.example").json()
    DirectoryUser.objects.filter(scim_id=created["id"]).update(enterprise={"employeeNumber": 2**70})
    response = scim.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.json()["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"] == 2**70


def test_integers_past_64_bits_in_a_body_are_read_not_refused(scim):
    response = scim.request("POST", "/Users", data='{"userName": "n@acme.example", "x": 123456789012345678901234567890}',
                            headers={"Content-Type": "application/scim+json"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("levels", [29, 40])
def test_nesting_is_limited_also_when_the_deepest_list_holds_flat_objects(scim, levels):
    nested: object = [{"value": "x"}, {"value": "y"}]
    for _ in range(levels):
        nested = [nested]
    response = scim.post("/Users", {"userName": "deep@acme.example", "x": nested})
    if levels > 30:
        assert_scim_error(response, 400, "invalidSyntax")
    else:
        assert response.status_code == 201, response.text


def test_more_query_parameters_than_django_reads_is_a_400_logged_without_a_traceback(scim, caplog):
    """Django refuses past DATA_UPLOAD_MAX_NUMBER_FIELDS with a SuspiciousOperation: that is the
    client's request, not a server failure."""
    query = "&".join(f"p{i}=1" for i in range(1001))
    with caplog.at_level(logging.INFO):
        response = scim.get(f"/Users?{query}")

    assert_scim_error(response, 400, "invalidSyntax")
    assert "more than 1000 query parameters" in response.json()["detail"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    refused = [r for r in caplog.records if r.name == "django.security.TooManyFieldsSent"]
    assert [(r.levelname, r.exc_info) for r in refused] == [("WARNING", None)]
    assert scim.get("/Users?" + "&".join(f"p{i}=1" for i in range(999))).status_code == 200


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ('filter=userName eq "a@acme.example"&filter=userName eq "b@acme.example"', "'filter' is given 2 times"),
        ("count=1&count=2", "'count' is given 2 times"),
        ("startIndex=1&startIndex=1", "'startIndex' is given 2 times"),
        ("sortBy=userName&sortBy=title&sortBy=title", "'sortBy' is given 3 times"),
        ("attributes=userName&attributes=title", "'attributes' is given 2 times"),
    ],
)
def test_a_scim_query_parameter_given_twice_is_a_400_not_a_guess(scim, query, named):
    response = scim.get(f"/Users?{query}")
    assert_scim_error(response, 400, "invalidSyntax")
    assert named in response.json()["detail"]


def test_other_query_parameters_may_repeat(scim):
    assert scim.get("/Users?cache=1&cache=2&count=1").status_code == 200


def test_the_query_string_is_utf8_whatever_charset_the_content_type_names(scim):
    scim.create_user("ann@acme.example")
    query = {"filter": 'userName eq "nobody@acme.example"'}
    for content_type in ("text/plain; charset=utf-16", "application/scim+json; charset=iso-8859-1"):
        response = scim.get("/Users", params=query, headers={"Content-Type": content_type})
        assert response.status_code == 200, (content_type, response.text)
        assert response.json()["totalResults"] == 0, content_type  # the filter was read, not lost
    accented = scim.get("/Users", params={"filter": 'userName eq "zoë@acme.example"'},
                        headers={"Content-Type": "text/plain; charset=iso-8859-1"})
    assert accented.status_code == 200 and accented.json()["totalResults"] == 0


def test_a_query_string_that_is_not_utf8_is_a_400_saying_so(scim):
    response = scim.get("/Users?filter=userName%20eq%20%22%FF%FE%22")
    assert_scim_error(response, 400, "invalidSyntax")
    assert "not UTF-8" in response.json()["detail"]
