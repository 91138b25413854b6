"""A browser without the browser: a requests session that signs in through a sign-in page over
real HTTP (GET for the form and its CSRF token, then POST), optionally as a client behind the
load balancer (X-Forwarded-For)."""

from __future__ import annotations

import re

import requests

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The product's sign-in, Okta SWA's login page address, and Django admin's.
SIGN_IN_PAGES = ["/accounts/login/", "/auth/v2/authenticate", "/admin/login/"]
THROTTLED = "Too many failed sign-ins. Wait"


class SignInBrowser:
    def __init__(self, base_url: str, *, forwarded_for: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    def sign_in(self, page: str, username: str, password: str) -> requests.Response:
        return self.submit(page, self.ready(page), username, password)

    def ready(self, page: str) -> str:
        """Open the sign-in page; its CSRF token."""
        form = self.session.get(self.base_url + page, headers=self.headers, timeout=30)
        assert form.status_code == 200, form.status_code
        return CSRF_FIELD.search(form.text).group(1)

    def submit(self, page: str, token: str, username: str, password: str) -> requests.Response:
        return self.session.post(
            self.base_url + page,
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers=self.headers,
            allow_redirects=False,
            timeout=30,
        )


def signed_in(response: requests.Response) -> bool:
    return response.status_code == 302 and "sessionid" in response.cookies


def throttled(response: requests.Response) -> bool:
    return (
        response.status_code == 429
        and THROTTLED in response.text
        and response.headers.get("Retry-After", "").isdigit()
        and "sessionid" not in response.cookies
    )
