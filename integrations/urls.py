from __future__ import annotations

from django.urls import path

from integrations import guide_views, views

app_name = "integrations"

urlpatterns = [
    path("", views.home, name="home"),
    path("integrations/", views.index, name="index"),
    path("help/<slug:slug>/", guide_views.guide, name="guide"),
    path("integrations/<slug:kind>/", views.instance_list, name="instance-list"),
    path("integrations/<slug:kind>/new/", views.instance_new, name="instance-new"),
    path("integrations/instances/<int:pk>/", views.instance_detail, name="instance-detail"),
    path(
        "integrations/instances/<int:pk>/regenerate/",
        views.instance_regenerate,
        name="instance-regenerate",
    ),
    path(
        "integrations/instances/<int:pk>/rotate/",
        views.instance_rotate,
        name="instance-rotate",
    ),
    path(
        "integrations/instances/<int:pk>/delete/",
        views.instance_delete_view,
        name="instance-delete",
    ),
    path(
        "integrations/instances/<int:pk>/activity/",
        views.instance_activity_view,
        name="instance-activity",
    ),
]
