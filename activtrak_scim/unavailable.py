"""The web pages and Django admin when the database is unavailable: a 503 page in the site's look
with Retry-After, as the SCIM API, the agent check-in and /readyz answer 503, instead of the 500
"Something went wrong" that suggests a bug."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from directory.errors import DATABASE_UNAVAILABLE_ERRORS, database_unavailable


class DatabaseUnavailableMiddleware:
    """Answers a view (or a template it renders) that lost the database with the 503 page.

    The APIs answer their own 503s in their formats, so only pages and admin reach here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            return None
        headers = database_unavailable(exception, what="Page request")
        # Rendered without the request: no context processor may ask the database for the user.
        return HttpResponse(render_to_string("503.html"), status=503, headers=headers)
