"""URLs under /scim/v1. Trailing slashes and doubled slashes are tolerated, never redirected."""

from __future__ import annotations

from django.urls import re_path

from directory.scim import discovery, views

app_name = "scim"

RESOURCE_ID = r"(?:/+(?P<uuid>[^/.][^/]*))?"

urlpatterns = [
    re_path(r"^Users/+\.search/*$", views.UsersSearchView.as_view(), name="users-search"),
    re_path(rf"^Users{RESOURCE_ID}/*$", views.UsersView.as_view(), name="users"),
    re_path(r"^Groups/+\.search/*$", views.GroupsSearchView.as_view(), name="groups-search"),
    re_path(rf"^Groups{RESOURCE_ID}/*$", views.GroupsView.as_view(), name="groups"),
    re_path(
        r"^ServiceProviderConfig/*$",
        discovery.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(r"^Schemas(?:/+(?P<uuid>[^/]+))?/*$", discovery.SchemasView.as_view(), name="schemas"),
    re_path(
        r"^ResourceTypes(?:/+(?P<uuid>[^/]+))?/*$",
        discovery.ResourceTypesView.as_view(),
        name="resource-types",
    ),
    re_path(r"^(?:Bulk|Me|\.search)(?:/.*)?$", discovery.NotImplementedView.as_view(), name="unsupported"),
    # [\s\S], not ".": /scim/v1/%0A (a newline) is still a SCIM 404, not Django's HTML one.
    re_path(r"^[\s\S]*$", discovery.UnknownEndpointView.as_view(), name="unknown"),
]
