"""URLs under /scim/v1. Trailing slashes and doubled slashes are tolerated, never redirected."""

from __future__ import annotations

from django.urls import re_path

from directory import scim_discovery, scim_views

app_name = "scim"

RESOURCE_ID = r"(?:/+(?P<uuid>[^/.][^/]*))?"

urlpatterns = [
    re_path(r"^Users/+\.search/*$", scim_views.UsersSearchView.as_view(), name="users-search"),
    re_path(rf"^Users{RESOURCE_ID}/*$", scim_views.UsersView.as_view(), name="users"),
    re_path(r"^Groups/+\.search/*$", scim_views.GroupsSearchView.as_view(), name="groups-search"),
    re_path(rf"^Groups{RESOURCE_ID}/*$", scim_views.GroupsView.as_view(), name="groups"),
    re_path(
        r"^ServiceProviderConfig/*$",
        scim_discovery.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(r"^Schemas(?:/+(?P<uuid>[^/]+))?/*$", scim_discovery.SchemasView.as_view(), name="schemas"),
    re_path(
        r"^ResourceTypes(?:/+(?P<uuid>[^/]+))?/*$",
        scim_discovery.ResourceTypesView.as_view(),
        name="resource-types",
    ),
    re_path(r"^(?:Bulk|Me|\.search)(?:/.*)?$", scim_discovery.NotImplementedView.as_view(), name="unsupported"),
    # [\s\S], not ".": /scim/v1/%0A (a newline) is still a SCIM 404, not Django's HTML one.
    re_path(r"^[\s\S]*$", scim_discovery.UnknownEndpointView.as_view(), name="unknown"),
]
