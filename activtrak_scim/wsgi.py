"""The WSGI application gunicorn serves.

The SCIM API and the agent check-in are called by machines with bearer keys: they get the
site's middleware without what only pages use (sessions, CSRF, sign-in throttling, messages,
static files, the pages' 503). Every other path gets the whole stack.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activtrak_scim.settings")

pages = get_wsgi_application()  # sets Django up


class MachineApiHandler(WSGIHandler):
    """Django's WSGI handler over ``settings.MIDDLEWARE`` less ``PAGE_ONLY_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        from django.conf import settings

        everything = settings.MIDDLEWARE
        # Django builds the chain from the setting; it is read here once, at start-up.
        settings.MIDDLEWARE = [path for path in everything if path not in settings.PAGE_ONLY_MIDDLEWARE]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


machine_api = MachineApiHandler()


def is_machine_api(path: str) -> bool:
    return path.startswith("/scim/v1/") or path in ("/scim/v1", "/api/agents/v1/check-in")


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    handler = machine_api if is_machine_api(environ.get("PATH_INFO", "")) else pages
    return handler(environ, start_response)
