"""The SCIM API and the agent check-in run without the middleware only pages use."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

from activtrak_scim.wsgi import application, is_machine_api
from integrations.services import agent_key_regenerate
from tests.scim_client import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA


def test_machine_paths_are_the_scim_api_and_the_agent_check_in():
    for path in ("/scim/v1", "/scim/v1/Users", "/scim/v1/Groups/x", "/api/agents/v1/check-in"):
        assert is_machine_api(path), path
    for path in ("/scim/v1x", "/scim/v2/Users", "/integrations/", "/admin/", "/accounts/login/", "/"):
        assert not is_machine_api(path), path


def call(path: str, headers: dict | None = None, *, method: str = "GET", body=None,
         content_type: str = "application/scim+json") -> tuple[str, dict, bytes]:
    """``path`` through the WSGI application gunicorn serves, as gunicorn calls it."""
    data = b"" if body is None else json.dumps(body).encode()
    environ = {"REQUEST_METHOD": method, "wsgi.input": io.BytesIO(data), "HTTP_HOST": "localhost"}
    setup_testing_defaults(environ)
    environ["PATH_INFO"], _, environ["QUERY_STRING"] = path.partition("?")
    if body is not None:
        environ.update(CONTENT_TYPE=content_type, CONTENT_LENGTH=str(len(data)))
    environ.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()})
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer.update(status=status, headers=dict(response_headers))

    body = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], body


def test_scim_requests_open_no_session_or_message_store_and_pages_still_do(
    transactional_db, acme_key, monkeypatch
):
    """A SCIM request never reaches the session or message middleware (they cost a tenth of
    a lookup); a page still does, and the security headers stay on both."""
    seen = []
    for middleware in (SessionMiddleware, MessageMiddleware):
        original = middleware.process_request

        def recording(self, request, original=original):
            seen.append((type(self).__name__, request.path))
            return original(self, request)

        monkeypatch.setattr(middleware, "process_request", recording)

    scim_status, scim_headers, scim_body = call("/scim/v1/Users?count=1", {"Authorization": f"Bearer {acme_key}"})
    page_status, page_headers, _ = call("/accounts/login/")

    assert scim_status.startswith("200") and json.loads(scim_body)["totalResults"] == 0
    assert page_status.startswith("200")
    for headers in (scim_headers, page_headers):
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert [path for _, path in seen if path.startswith("/scim/")] == []
    assert {name for name, path in seen if path == "/accounts/login/"} == {
        "SessionMiddleware", "MessageMiddleware"}


def test_okta_and_the_agents_work_through_the_machine_handler(transactional_db, acme, acme_key):
    """Every SCIM verb Okta sends, and an agent check-in, through the reduced middleware: no
    view relies on what the page middleware would have set (a session, request.user)."""
    scim = {"Authorization": f"Bearer {acme_key}"}

    def scim_call(method, path, body=None):
        status, headers, content = call(f"/scim/v1{path}", scim, method=method, body=body)
        return int(status.split()[0]), json.loads(content) if content else None

    user = {"schemas": [USER_SCHEMA], "userName": "wsgi@acme.example", "active": True,
            "emails": [{"value": "wsgi@acme.example", "primary": True}]}
    assert scim_call("GET", '/Users?filter=userName%20eq%20%22wsgi%40acme.example%22')[1]["totalResults"] == 0
    status, created = scim_call("POST", "/Users", user)
    assert status == 201
    assert scim_call("POST", "/Users", user)[0] == 409
    assert scim_call("GET", f"/Users/{created['id']}")[1]["userName"] == "wsgi@acme.example"
    assert scim_call("PUT", f"/Users/{created['id']}", {**user, "title": "Lead"})[1]["title"] == "Lead"
    status, group = scim_call("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "WSGI"})
    assert status == 201
    assert scim_call("PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": created["id"]}]}]})[0] in (200, 204)
    status, patched = scim_call("PATCH", f"/Users/{created['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    assert status == 200 and patched["active"] is False and patched["groups"][0]["value"] == group["id"]
    assert scim_call("DELETE", f"/Users/{created['id']}")[0] == 204
    assert scim_call("GET", f"/Users/{created['id']}")[0] == 404

    agent_key = agent_key_regenerate(account=acme)
    status, _, content = call("/api/agents/v1/check-in", {"Authorization": f"Bearer {agent_key}"},
                              method="POST", body={"logon_name": "pc\\someone", "machine_name": "PC-1"},
                              content_type="application/json")
    assert status.startswith(("200", "201")), content
