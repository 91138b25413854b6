"""The SCIM 2.0 resource endpoints under /scim/v1: /Users, /Groups and their /.search.

Views are glue: parse the request, call an adapter (which calls services) inside one
transaction, record provisioning events, render. Lists, filters, counts and paging run in the
database, with a constant number of queries per request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django_scim.exceptions import BadRequestError, NotFoundError

from directory.models import DirectoryUser, Group, GroupMembership, LiveUserTally
from directory.scim.attributes import apply_selection, attribute_selection
from directory.scim.filters import compile_group_filter, compile_user_filter
from directory.scim.groups import GroupAdapter, GroupValues
from directory.scim.http import (
    ScimError,
    ScimView,
    client_ip,
    parse_json_body,
    query_parameters,
    scim_response,
)
from directory.scim.patch import Operation, parse_operations
from directory.scim.schema import (
    GROUP_SCHEMA,
    LIST_RESPONSE,
    PATCH_OP,
    SEARCH_REQUEST,
    USER_SCHEMA,
)
from directory.scim.sorting import sort_field
from directory.scim.users import UserAdapter, UserValues
from directory.sql import (
    group_member_values,
    in_id_order,
    row_insert,
    scim_equal,
    scim_equal_count,
    scim_resource,
    user_lock_at_version,
    user_page_values,
    user_resource,
)
from integrations.models import ProvisioningEvent
from integrations.services import event_build

MAX_SQL_OFFSET = 2**63 - 1
# Unlocked saves of one user that may lose a race to another writer before one takes the lock.
UNLOCKED_ATTEMPTS = 2


class ResourceView(ScimView):
    """GET (one or a page), POST, PUT, PATCH, DELETE and .search for one resource type."""

    http_method_names = ["get", "post", "put", "patch", "delete"]
    adapter_class: type = UserAdapter
    schema = USER_SCHEMA
    resource_type = "User"
    action_prefix = "user"
    model: type  # the rows base_queryset() and sql.scim_resource() scope alike

    # --- helpers -------------------------------------------------------------------------------

    @property
    def account(self):
        return self.principal.account

    def base_queryset(self):
        raise NotImplementedError

    def compile_filter(self, text: str):
        raise NotImplementedError

    def total(self) -> int:
        """How many resources an unfiltered list holds."""
        return self.base_queryset().count()

    def page_values(self, objects: list, selection) -> dict:
        """{pk: what the adapter renders besides the row} for a page, in a fixed number of
        queries; an object missing from it is read by its adapter if needed."""
        return {}

    def values_for_update(self, obj):
        """What a PUT or PATCH compares against and answers with, read under the row lock."""
        return None

    def read(self, scim_id: str, selection):
        """The resource and the values ``page_values`` gives it, for a GET."""
        obj = self.get_object(scim_id)
        return obj, self.page_values([obj], selection).get(obj.pk)

    def get_object(self, scim_id: str, *, lock: bool = False):
        found = scim_resource(self.model, self.account.pk, self.scim_key(scim_id), lock=lock)
        if found is None:
            raise NotFoundError(scim_id)
        return found

    @staticmethod
    def scim_key(scim_id: str) -> uuid.UUID:
        """The id from the URL; one that is no UUID names nothing here (404)."""
        try:
            return uuid.UUID(scim_id)
        except (ValueError, TypeError):
            raise NotFoundError(scim_id) from None

    def adapter(self, obj, selection=None, values=None):
        return self.adapter_class(obj, request=self.request, selection=selection, values=values)

    def render(self, adapter, status: int = 200, selection=None) -> HttpResponse:
        document = adapter.to_dict()
        if selection is not None:
            document = apply_selection(document, selection, self.schema)
        return scim_response(
            document, status=status, headers={"Location": adapter.location, "ETag": adapter.version}
        )

    def selection(self, params):
        return attribute_selection(
            params.get("attributes"), params.get("excludedAttributes"), self.schema
        )

    def check_precondition(self, obj) -> None:
        expected = self.request.META.get("HTTP_IF_MATCH")
        if expected and expected.strip() != "*":
            version = self.adapter(obj).version
            tags = {tag.strip() for tag in expected.split(",")}
            if version not in tags:
                raise ScimError(
                    "The resource changed since it was read (If-Match does not match its version).",
                    status=412,
                )

    def record(self, adapter, status: int) -> None:
        for event in self.events(adapter, status):
            row_insert(event, with_id=False)

    def events(self, adapter, status: int) -> list[ProvisioningEvent]:
        """The events of the actions ``adapter`` performed, not yet written."""
        obj = adapter.obj
        return [
            event_build(
                account=self.account,
                instance=self.principal.instance,
                action=action.name,
                status_code=status,
                target_type=self.resource_type,
                target_id=str(obj.scim_id),
                target_display=self.display_of(obj),
                detail=action.detail,
                client_ip=client_ip(self.request),
            )
            for action in adapter.actions
        ]

    @staticmethod
    def display_of(obj) -> str:
        return str(obj)

    def failure_action(self, request: HttpRequest, kwargs: dict) -> str | None:
        if request.path.rstrip("/").endswith(".search"):
            return None
        verb = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
        return f"{self.action_prefix}.{verb[request.method]}"

    # --- reads ---------------------------------------------------------------------------------

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        params = query_parameters(request)
        if uuid is None:
            return self.list(params)
        selection = self.selection(params)
        obj, values = self.read(uuid, selection)
        adapter = self.adapter(obj, selection, values)
        if request.META.get("HTTP_IF_NONE_MATCH", "").strip() == adapter.version:
            return HttpResponse(status=304, headers={"ETag": adapter.version})
        return self.render(adapter, selection=selection)

    def list(self, params) -> HttpResponse:
        start_index = self.integer(params.get("startIndex"), "startIndex", default=1)
        start_index = max(start_index, 1)
        count = self.integer(params.get("count"), "count", default=settings.SCIM_MAX_RESULTS)
        count = min(max(count, 0), settings.SCIM_MAX_RESULTS)
        selection = self.selection(params)
        order = sort_field(params.get("sortBy"), params.get("sortOrder"), self.schema)

        text = params.get("filter")
        compiled = None
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise BadRequestError("The filter is empty.", scim_type="invalidFilter")
            if "\x00" in text:
                raise BadRequestError("The filter contains a NUL character.", scim_type="invalidFilter")
            compiled = self.compile_filter(text)
        if compiled is not None and compiled.equality and order == ["id"]:
            # Okta's and Entra's lookup before every create: one statement.
            model, account, eq = self.model, self.account.pk, compiled.equality
            found = dict(column=eq.column, value=eq.value, ignore_case=eq.ignore_case)
            page, total = self.filtered_page(
                lambda skip, limit: scim_equal(model, account, offset=skip, limit=limit, **found),
                lambda: scim_equal_count(model, account, **found),
                start_index,
                count,
            )
        elif compiled is not None:
            queryset = self.base_queryset().filter(compiled.q)
            if compiled.needs_distinct:
                queryset = queryset.distinct()
            if order == ["id"]:
                page, total = self.filtered_page(
                    lambda skip, limit: in_id_order(
                        queryset.order_by("id").values("pk")[skip : skip + limit]
                    ),
                    queryset.count,
                    start_index,
                    count,
                )
            else:
                total = queryset.count()
                page = self.page(queryset, order, start_index, count, total)
        else:
            total = self.total()
            page = self.page(self.base_queryset(), order, start_index, count, total)
        values = self.page_values(page, selection)
        resources = [
            apply_selection(
                self.adapter(obj, selection, values.get(obj.pk)).to_dict(), selection, self.schema
            )
            for obj in page
        ]
        return scim_response(
            {
                "schemas": [LIST_RESPONSE],
                "totalResults": total,
                "startIndex": start_index,
                "itemsPerPage": len(resources),
                "Resources": resources,
            }
        )

    def page(self, queryset, order: list, start_index: int, count: int, total: int) -> list:
        """``count`` rows from the 1-based ``start_index`` of ``total``.

        Only ids are skipped over (an index-only scan), and a page past the middle of the
        default order is read backwards from the end, so Okta's import reads its last page of
        100,000 users as fast as its first.
        """
        skip = start_index - 1
        if not count or skip >= total:
            return []
        if order != ["id"]:
            ids = queryset.order_by(*order).values("pk")[skip : skip + count]
            return list(self.base_queryset().filter(pk__in=ids).order_by(*order))
        if skip * 2 <= total:
            ids = queryset.order_by("id").values("pk")[skip : skip + count]
        else:
            from_end = max(total - skip - count, 0)
            ids = queryset.order_by("-id").values("pk")[from_end : total - skip]
        return in_id_order(ids)

    @staticmethod
    def filtered_page(read: Callable[[int, int], list], count_all: Callable[[], int],
                      start_index: int, count: int) -> tuple[list, int]:
        """A page of a filtered list (``read(offset, limit)``) and its total, counted only when
        the page does not tell.

        Filters select few rows (Okta's lookup is ``userName eq``, usually finding nothing): a
        page that is not full gives the total without a COUNT query, unless it is an empty page
        past the first (the rows may all lie before it).
        """
        # SQL's OFFSET stops at the largest bigint; no table holds that many rows.
        skip = min(start_index - 1, MAX_SQL_OFFSET)
        page = read(skip, count) if count else []
        if count and len(page) < count and (page or not skip):
            return page, skip + len(page)
        return page, count_all()

    @staticmethod
    def integer(raw, name: str, *, default: int) -> int:
        if raw is None or raw == "":
            return default
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            # A .search body's 1.5 is not an integer, nor is true.
            raise BadRequestError(f"{name} must be an integer, not {raw!r}.", scim_type="invalidValue")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise BadRequestError(f"{name} must be an integer, not {raw!r}.", scim_type="invalidValue") from None

    # --- writes --------------------------------------------------------------------------------

    def post(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is not None:
            raise ScimError("POST creates resources; send it to the collection.", status=405, headers={"Allow": "GET, PUT, PATCH, DELETE"})
        body = parse_json_body(request)
        adapter = self.adapter(self.model(account=self.account, provisioned_by=self.principal.instance))
        self.create(adapter, body)
        return self.render(adapter, status=201)

    def create(self, adapter, body: dict) -> None:
        """Build the new resource from ``body``, save it and record its events."""
        with transaction.atomic():
            adapter.from_dict(body)
            adapter.save()
            self.record(adapter, 201)

    def put(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError("PUT needs a resource id in the URL.", status=405, headers={"Allow": "GET, POST"})
        body = parse_json_body(request)
        with transaction.atomic():
            obj = self.get_object(uuid, lock=True)
            self.check_precondition(obj)
            adapter = self.adapter(obj, values=self.values_for_update(obj))
            adapter.from_dict(body)
            adapter.save()
            self.record(adapter, 200)
        return self.render(adapter)

    def patch(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError("PATCH needs a resource id in the URL.", status=405, headers={"Allow": "GET, POST"})
        operations = self.patch_operations(request)
        with transaction.atomic():
            obj = self.get_object(uuid, lock=True)
            self.check_precondition(obj)
            adapter = self.adapter(obj, values=self.values_for_update(obj))
            adapter.patch(operations)
            self.record(adapter, 200)
        return self.patched_response(adapter)

    def patch_operations(self, request: HttpRequest) -> list[Operation]:
        """A PATCH body's operations: every one checked, counted and parsed before any database
        work."""
        body = parse_json_body(request)
        declared = body.get("schemas")
        if declared is not None and (not isinstance(declared, list) or PATCH_OP not in declared):
            raise BadRequestError(f"A PATCH body must declare the schema {PATCH_OP}.", scim_type="invalidSyntax")
        return parse_operations(
            next((v for k, v in body.items() if k.lower() == "operations"), None), self.schema
        )

    def patched_response(self, adapter) -> HttpResponse:
        """200 with the resource as saved: a user PATCH is applied to the whole document and
        saved like a PUT, so the adapter holds the resource as it now is."""
        return self.render(adapter)

    def delete(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            raise ScimError("DELETE needs a resource id in the URL.", status=405, headers={"Allow": "GET, POST"})
        with transaction.atomic():
            obj = self.get_object(uuid, lock=True)
            self.check_precondition(obj)
            adapter = self.adapter(obj)
            adapter.delete()
            self.record(adapter, 204)
        return HttpResponse(status=204)


class UsersView(ResourceView):
    adapter_class = UserAdapter
    schema = USER_SCHEMA
    resource_type = "User"
    action_prefix = "user"
    model = DirectoryUser

    def base_queryset(self):
        return DirectoryUser.objects.for_account(self.account)

    def compile_filter(self, text: str):
        return compile_user_filter(text)

    def total(self) -> int:
        return LiveUserTally.total(self.account)

    def page_values(self, objects: list, selection) -> dict[int, UserValues]:
        wants_groups = selection is None or selection.wants(USER_SCHEMA, "groups")
        emails, groups = user_page_values([user.pk for user in objects], groups=wants_groups)
        return {
            user.pk: UserValues(emails[user.pk], groups.get(user.pk, []) if wants_groups else None)
            for user in objects
        }

    def create(self, adapter: UserAdapter, body: dict) -> None:
        adapter.from_dict(body)  # no database work: a user's document needs none to check
        adapter.create(records=self.events(adapter, 201))

    def read(self, scim_id: str, selection) -> tuple[DirectoryUser, UserValues]:
        if connection.vendor != "postgresql":
            return super().read(scim_id, selection)
        user, emails, groups, _ = user_resource(self.account.pk, self.scim_key(scim_id))
        if user is None:
            raise NotFoundError(scim_id)
        return user, UserValues(emails, groups)

    def put(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            return super().put(request, uuid)
        body = parse_json_body(request)
        return self.render(self.update(uuid, lambda adapter: adapter.from_dict(body)))

    def patch(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        if uuid is None:
            return super().patch(request, uuid)
        operations = self.patch_operations(request)
        return self.patched_response(self.update(uuid, lambda adapter: adapter.apply_patch(operations)))

    def update(self, uuid: str, change: Callable[[UserAdapter], None]) -> UserAdapter:
        """Read the user, apply ``change`` to it, save it and record the events.

        The user is read with its row version, without a lock. A change to the user's own
        columns alone (the same userName and addresses, no product login, no agents to follow a
        change of state: Okta's profile pushes, most deactivations) is saved in one statement
        with its events, provided the row is still that version. Any other change takes the row
        lock at that version and saves as before. A write that finds the row changed since the
        read reads it again; after a second time it reads it under the lock.
        """
        # Outside a transaction each write commits alone, so the row's xmin names its version.
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            for _ in range(UNLOCKED_ATTEMPTS):
                obj, emails, groups, version = user_resource(self.account.pk, self.scim_key(uuid))
                if obj is None:
                    raise NotFoundError(uuid)
                self.check_precondition(obj)
                adapter = self.adapter(obj, values=UserValues(emails, groups))
                change(adapter)
                if adapter.is_plain_update():
                    if adapter.save_at_version(version, records=self.events(adapter, 200)):
                        return adapter
                    continue
                with transaction.atomic():
                    if user_lock_at_version(obj.pk, version):
                        adapter.save()
                        self.record(adapter, 200)
                        return adapter
        with transaction.atomic():
            obj = self.get_object(uuid, lock=True)
            self.check_precondition(obj)
            adapter = self.adapter(obj, values=self.values_for_update(obj))
            change(adapter)
            adapter.save()
            self.record(adapter, 200)
        return adapter

    def values_for_update(self, obj) -> UserValues:
        # The emails to compare with and the groups to answer with, in one query instead of
        # one before the write and one after it. A user write never changes its groups.
        return self.page_values([obj], None)[obj.pk]


class GroupsView(ResourceView):
    adapter_class = GroupAdapter
    schema = GROUP_SCHEMA
    resource_type = "Group"
    action_prefix = "group"
    model = Group

    def base_queryset(self):
        return Group.objects.for_account(self.account)

    def compile_filter(self, text: str):
        return compile_group_filter(text)

    def page_values(self, objects: list, selection) -> dict[int, GroupValues]:
        if selection is not None and not selection.wants(GROUP_SCHEMA, "members"):
            return {}
        rows = group_member_values([group.pk for group in objects])
        return {group.pk: GroupValues(rows[group.pk]) for group in objects}

    def patched_response(self, adapter) -> HttpResponse:
        """200 with the group as this PATCH left it, or 204 No Content once it has more than
        SCIM_PATCH_RESPONSE_MAX_MEMBERS members.

        RFC 7644 section 3.5.2 lets a PATCH answer either way and Okta accepts both. Rendering
        all 50,000 members (9 MB) after adding a batch of 100 made each batch of a large import
        take seconds. Whether the group is that large is one index-only probe past the limit.
        The group's row needs no second read: it was read under the lock and changed in place.
        """
        limit = settings.SCIM_PATCH_RESPONSE_MAX_MEMBERS
        if GroupMembership.objects.filter(group=adapter.obj).order_by()[limit : limit + 1].exists():
            return HttpResponse(status=204, headers={"ETag": adapter.version})
        return self.render(adapter)


class SearchView(ScimView):
    """POST /Users/.search and /Groups/.search with a SearchRequest body."""

    http_method_names = ["post"]
    resource_view: type[ResourceView] = UsersView

    def post(self, request: HttpRequest) -> HttpResponse:
        body = parse_json_body(request)
        declared = body.get("schemas")
        if not isinstance(declared, list) or SEARCH_REQUEST not in declared:
            raise BadRequestError(f"A search body must declare the schema {SEARCH_REQUEST}.", scim_type="invalidSyntax")
        view = self.resource_view()
        view.request = request
        view.principal = self.principal
        params = {key: value for key, value in body.items() if key != "schemas"}
        return view.list(params)


class UsersSearchView(SearchView):
    resource_view = UsersView


class GroupsSearchView(SearchView):
    resource_view = GroupsView
