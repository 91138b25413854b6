from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path

from directory.apis import AgentCheckInView
from integrations.views import SignInView


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    re_path(r"^scim/v1(?:/+|$)", include("directory.scim_urls")),
    path("api/agents/v1/check-in", AgentCheckInView.as_view(), name="agent-check-in"),
    path("", include("directory.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("", include("integrations.urls")),
]
