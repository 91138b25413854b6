"""The SCIM API and the agent check-in run without the middleware only pages use."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

from activtrak_scim.wsgi import application, is_machine_api


def test_machine_paths_are_the_scim_api_and_the_agent_check_in():
    for path in ("/scim/v1", "/scim/v1/Users", "/scim/v1/Groups/x", "/api/agents/v1/check-in"):
        assert is_machine_api(path), path
    for path in ("/scim/v1x", "/scim/v2/Users", "/integrations/", "/admin/", "/accounts/login/", "/"):
        assert not is_machine_api(path), path


def call(path: str, headers: dict | None = None) -> tuple[str, dict, bytes]:
    """``path`` through the WSGI application gunicorn serves, as gunicorn calls it."""
    environ = {"REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(b""), "HTTP_HOST": "localhost"}
    setup_testing_defaults(environ)
    environ["PATH_INFO"], _, environ["QUERY_STRING"] = path.partition("?")
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
