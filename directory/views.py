"""The Users and Groups pages of the web app, scoped to the signed-in admin's account."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from directory import agent_services, selectors, services
from directory.access import account_admin_required
from directory.errors import DirectoryError
from directory.forms import (
    AgentAssignForm,
    AgentForm,
    GroupForm,
    GroupMemberForm,
    MergeAgentsForm,
    UserSearchForm,
)
from directory.models import Agent, DirectoryUser, Group
from integrations.models import AgentKey
from integrations.services import agent_key_regenerate

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset, total: int | None = None):
    """The requested page; ``total``, when known, spares the paginator its COUNT query."""
    paginator = Paginator(queryset, PAGE_SIZE)
    if total is not None:
        paginator.count = total
    return paginator.get_page(request.GET.get("page"))


def _user_or_404(request: HttpRequest, scim_id: uuid.UUID) -> DirectoryUser:
    try:
        return selectors.user_for_account(request.account, scim_id)
    except DirectoryUser.DoesNotExist:
        raise Http404("No such user") from None


def _group_or_404(request: HttpRequest, scim_id: uuid.UUID) -> Group:
    try:
        return selectors.group_for_account(request.account, scim_id)
    except Group.DoesNotExist:
        raise Http404("No such group") from None


def _agent_or_404(request: HttpRequest, public_id) -> Agent:
    try:
        return Agent.objects.get(account=request.account, public_id=public_id)
    except Agent.DoesNotExist:
        raise Http404("No such agent") from None


@account_admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    group = None
    if filters.get("group"):
        group = _group_or_404(request, filters["group"])
    criteria = {"search": filters.get("q", ""), "status": filters.get("status", ""), "group": group}
    users = selectors.users_page(request.account, **criteria)
    totals = request.account.user_totals()
    return render(
        request,
        "directory/user_list.html",
        {
            "form": form,
            "page": _page(request, users, selectors.users_page_total(totals, **criteria)),
            "filters": selectors.USER_FILTERS,
            "status": filters.get("status", ""),
            "search": filters.get("q", ""),
            "group": group,
            "licensed": totals.licensed,
        },
    )


@account_admin_required
def user_detail(request: HttpRequest, scim_id: uuid.UUID) -> HttpResponse:
    user = _user_or_404(request, scim_id)
    agents = list(selectors.agents_of(user))
    counted = [a for a in agents if a.merged_into_id is None]
    return render(
        request,
        "directory/user_detail.html",
        {
            "person": user,
            "agents": agents,
            "counted": counted,
            "candidates": selectors.candidate_agents(user),
            "groups": user.member_groups.order_by("display_name"),
        },
    )


@require_POST
@account_admin_required
def user_merge_agents(request: HttpRequest, scim_id: uuid.UUID) -> HttpResponse:
    user = _user_or_404(request, scim_id)
    agents = list(user.agents.filter(merged_into__isnull=True))
    form = MergeAgentsForm(request.POST, agents=agents)
    if not form.is_valid():
        messages.error(request, "Choose the agent to keep and at least one agent to merge into it.")
        return redirect("directory:user-detail", scim_id=user.scim_id)
    by_id = {str(a.public_id): a for a in agents}
    primary = by_id.get(str(form.cleaned_data["primary"]))
    others = [by_id[i] for i in form.cleaned_data["others"] if i in by_id and i != str(primary and primary.public_id)]
    if primary is None or not others:
        messages.error(request, "Choose the agent to keep and at least one other agent to merge into it.")
        return redirect("directory:user-detail", scim_id=user.scim_id)
    try:
        merged = agent_services.agents_merge(primary=primary, others=others)
    except DirectoryError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request, f"Merged {merged} agent{'s' if merged != 1 else ''} into {primary.machine_name}."
        )
    return redirect("directory:user-detail", scim_id=user.scim_id)


def _posted_agent(request: HttpRequest) -> Agent | None:
    """The account's agent named by the POSTed form, or None when the form is invalid."""
    form = AgentForm(request.POST)
    return _agent_or_404(request, form.cleaned_data["agent"]) if form.is_valid() else None


@require_POST
@account_admin_required
def user_unmerge_agent(request: HttpRequest, scim_id: uuid.UUID) -> HttpResponse:
    user = _user_or_404(request, scim_id)
    agent = _posted_agent(request)
    if agent is not None and agent.user_id == user.pk and agent.merged_into_id:
        agent_services.agent_unmerge(agent=agent)
        messages.success(request, f"{agent.machine_name} counts as an agent of its own again.")
    return redirect("directory:user-detail", scim_id=user.scim_id)


@require_POST
@account_admin_required
def user_assign_agent(request: HttpRequest, scim_id: uuid.UUID) -> HttpResponse:
    user = _user_or_404(request, scim_id)
    agent = _posted_agent(request)
    if agent is not None:
        agent_services.agent_assign(agent=agent, user=user)
        messages.success(request, f"{agent} is now {user.user_name}'s agent.")
    return redirect("directory:user-detail", scim_id=user.scim_id)


@account_admin_required
def group_list(request: HttpRequest) -> HttpResponse:
    # PostgreSQL refuses NUL in text: a search for one is a search for nothing, not a 500.
    search = (request.GET.get("q") or "").replace("\x00", "").strip()[:200]
    form = GroupForm()
    if request.method == "POST":
        form = GroupForm(request.POST)
        if form.is_valid():
            group = Group(
                account=request.account,
                display_name=form.cleaned_data["display_name"],
                source=Group.SOURCE_PRODUCT,
            )
            try:
                with transaction.atomic():
                    services.group_save(group=group, members=None)
            except DirectoryError as exc:
                form.add_error("display_name", exc.detail)
            else:
                messages.success(request, f"Group “{group.display_name}” created.")
                return redirect("directory:group-detail", scim_id=group.scim_id)
    return render(
        request,
        "directory/group_list.html",
        {"page": _page(request, selectors.groups_page(request.account, search=search)), "search": search, "form": form},
    )


@account_admin_required
def group_detail(request: HttpRequest, scim_id: uuid.UUID) -> HttpResponse:
    group = _group_or_404(request, scim_id)
    member_form = GroupMemberForm()
    rename_form = GroupForm(initial={"display_name": group.display_name})
    if request.method == "POST":
        if group.source != Group.SOURCE_PRODUCT:
            messages.error(request, "This group is managed by your identity provider; change it there.")
            return redirect("directory:group-detail", scim_id=group.scim_id)
        response = _edit_product_group(request, group)
        if response is not None:
            return response
        member_form = GroupMemberForm(request.POST) if "user_name" in request.POST else member_form
        rename_form = GroupForm(request.POST) if "display_name" in request.POST else rename_form
    members = selectors.users_page(request.account, group=group)
    several = members.filter(agent_total__gt=1).count()
    user_total, agent_total, pending_total = group.member_counts()
    return render(
        request,
        "directory/group_detail.html",
        {
            "group": group,
            "page": _page(request, members),
            "user_total": user_total,
            "agent_total": agent_total,
            "pending_total": pending_total,
            "several_total": several,
            "member_form": member_form,
            "rename_form": rename_form,
            "users_url": reverse("directory:user-list"),
        },
    )


def _edit_product_group(request: HttpRequest, group: Group) -> HttpResponse | None:
    """Rename, add or remove a member of a product-side group; None when the form had errors."""
    action = request.POST.get("action")
    try:
        with transaction.atomic():
            locked = group.lock()
            if action == "rename":
                form = GroupForm(request.POST)
                if not form.is_valid():
                    return None
                locked.display_name = form.cleaned_data["display_name"]
                services.group_save(group=locked, members=None)
            elif action in ("add", "remove"):
                form = GroupMemberForm(request.POST)
                if not form.is_valid():
                    return None
                name = form.cleaned_data["user_name"]
                user = (
                    DirectoryUser.objects.for_account(request.account)
                    .filter(user_name__uexact=name)
                    .first()
                )
                if user is None:
                    messages.error(request, f"No user named {name!r} in your directory.")
                    return redirect("directory:group-detail", scim_id=group.scim_id)
                members = [{"value": str(user.scim_id)}]
                if action == "add":
                    services.group_members_add(group=locked, members=members)
                else:
                    services.group_members_remove(group=locked, members=members)
            elif action == "delete":
                services.group_delete(group=locked)
                messages.success(request, f"Group “{group.display_name}” deleted.")
                return redirect("directory:group-list")
    except (DirectoryError, IntegrityError) as exc:
        messages.error(request, getattr(exc, "detail", "That change could not be saved."))
    return redirect("directory:group-detail", scim_id=group.scim_id)


@account_admin_required
def agent_list(request: HttpRequest) -> HttpResponse:
    """Unassigned agents (to assign by hand) and the agent deployment key."""
    new_key = None
    if request.method == "POST" and request.POST.get("action") == "regenerate-key":
        new_key = agent_key_regenerate(account=request.account, created_by=request.user)
    elif request.method == "POST" and request.POST.get("action") == "assign":
        form = AgentAssignForm(request.POST)
        valid = form.is_valid()
        name = form.cleaned_data.get("user_name", "")
        user = (
            DirectoryUser.objects.for_account(request.account).filter(user_name__uexact=name).first()
            if name
            else None
        )
        if not name:
            messages.error(request, "Enter the userName of a user in your directory (one line of text).")
        elif user is None:
            messages.error(request, f"No user named {name!r} in your directory.")
        elif not valid:
            messages.error(request, "Choose an agent to assign.")
        else:
            agent = _agent_or_404(request, form.cleaned_data["agent"])
            agent_services.agent_assign(agent=agent, user=user)
            messages.success(request, f"{agent} is now {user.user_name}'s agent.")
        return redirect("directory:agent-list")
    unassigned = Agent.objects.filter(account=request.account, user__isnull=True).order_by("-last_seen_at", "-id")
    key = AgentKey.objects.filter(account=request.account, revoked_at__isnull=True).order_by("-created_at").first()
    response = render(
        request,
        "directory/agent_list.html",
        {"page": _page(request, unassigned), "key": key, "new_key": new_key},
    )
    if new_key:
        response["Cache-Control"] = "no-store"
    return response
