from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path, re_path

from activtrak_scim.health import healthz, readyz
from directory.apis import AgentCheckInView
from integrations.forms import AdminSignInForm
from integrations.views import SignInView

admin.site.login_form = AdminSignInForm

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
