from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path

from directory.apis import AgentCheckInView
from directory.scim.http import DATABASE_RETRY_AFTER_SECONDS
from integrations.forms import AdminSignInForm
from integrations.views import SignInView

admin.site.login_form = AdminSignInForm


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database, so a database outage does not take
    every host out of the load balancer (SCIM requests then answer 503 with Retry-After)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: this host can reach PostgreSQL (one round trip)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable"},
            status=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    return JsonResponse({"status": "ok", "database": "ok"})


urlpatterns = [
    re_path(r"^scim/v1(?:/+|$)", include("directory.scim.urls")),
    path("api/agents/v1/check-in", AgentCheckInView.as_view(), name="agent-check-in"),
    path("", include("directory.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    # The login page address the Okta SWA app is set up with (docs/okta-setup.md).
    path("auth/v2/authenticate", SignInView.as_view(), name="swa-sign-in"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("", include("integrations.urls")),
]
