from __future__ import annotations

from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("users/", views.user_list, name="user-list"),
    path("users/<uuid:scim_id>/", views.user_detail, name="user-detail"),
    path("users/<uuid:scim_id>/merge-agents/", views.user_merge_agents, name="user-merge-agents"),
    path("users/<uuid:scim_id>/unmerge-agent/", views.user_unmerge_agent, name="user-unmerge-agent"),
    path("users/<uuid:scim_id>/assign-agent/", views.user_assign_agent, name="user-assign-agent"),
    path("agents/", views.agent_list, name="agent-list"),
    path("groups/", views.group_list, name="group-list"),
    path("groups/<uuid:scim_id>/", views.group_detail, name="group-detail"),
]
