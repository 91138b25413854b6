"""A SCIM client that sends requests the way Okta's SCIM client does, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import requests

OKTA_HEADERS = {
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0",
}
BODY_CONTENT_TYPE = "application/scim+json; charset=utf-8"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class ScimClient:
    def __init__(self, base_url: str, key: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(OKTA_HEADERS)
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, body: Any = None, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        data = kwargs.pop("data", None)
        if body is not None:
            data = json.dumps(body)
            headers.setdefault("Content-Type", BODY_CONTENT_TYPE)
        return self.session.request(
            method, self.url(path), data=data, headers=headers, timeout=30, allow_redirects=False, **kwargs
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, operations: list[dict] | None = None, **kwargs) -> requests.Response:
        body = kwargs.pop("body", None) or {"schemas": [PATCH_OP], "Operations": operations}
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    # --- Okta's request shapes -----------------------------------------------------------------

    def find_user(self, user_name: str) -> requests.Response:
        return self.get("/Users", params={"filter": f'userName eq "{user_name}"', "startIndex": 1, "count": 100})

    def find_group(self, display_name: str) -> requests.Response:
        return self.get(
            "/Groups", params={"filter": f'displayName eq "{display_name}"', "startIndex": 1, "count": 100}
        )

    def create_user(self, user_name: str, given: str = "Test", family: str = "User", **extra) -> requests.Response:
        return self.post("/Users", okta_user(user_name, given, family, **extra))

    def create_group(self, display_name: str, members: list[str] | None = None) -> requests.Response:
        return self.post(
            "/Groups",
            {
                "schemas": [GROUP_SCHEMA],
                "displayName": display_name,
                "members": [{"value": m, "display": None} for m in members or []],
            },
        )


def okta_user(user_name: str, given: str = "Test", family: str = "User", **extra) -> dict:
    """The body of Okta's POST /Users (AIW app, default mappings)."""
    body = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    body.update(extra)
    return body
