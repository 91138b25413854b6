from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    re_path(r"^scim/v1(?:/+|$)", include("directory.scim_urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
