"""The SCIM Group resource: a Group whose members are users of the same account, by SCIM id.

A PATCH is applied as one change, whatever the number of its operations: the member
operations become one list of edits that ``services.group_members_edit`` folds into one net
change (one lookup, one delete, one insert), the attribute operations one save, and the request
records one event saying what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django_scim.adapters import SCIMGroup
from django_scim.exceptions import BadRequestError
from scim2_filter_parser import ast

from directory import services
from directory.errors import DirectoryError
from directory.models import Group
from directory.scim.adapters import Action, ScimAdapterMixin
from directory.scim.attributes import AttributeSelection
from directory.scim.http import as_scim_error
from directory.scim.patch import Operation
from directory.scim.paths import PatchPath
from directory.scim.schema import GROUP_SCHEMA, base_url, canonical
from directory.scim.validation import attribute, has_attribute, invalid_value, string_value
from directory.sql import group_member_values


@dataclass
class GroupValues:
    """A group's members as this request read them: a page reads them for all its groups in
    one query, a full replacement knows them without reading."""

    # (SCIM id, display) per member, oldest first; None: not read yet
    members: list[tuple[str, str]] | None = None


@dataclass
class GroupPatch:
    """A group PATCH's operations, gathered: the member edits in order, and the last value
    sent for each attribute (None: not sent)."""

    member_edits: list[services.MemberEdit]
    display_name: str | None = None
    external_id: str | None = None


class GroupAdapter(ScimAdapterMixin, SCIMGroup):
    """A Group as a SCIM Group; members are users of the same account, by our SCIM id."""

    endpoint = "Groups"
    schema = GROUP_SCHEMA

    def __init__(
        self,
        obj,
        request=None,
        selection: AttributeSelection | None = None,
        values: GroupValues | None = None,
    ):
        super().__init__(obj, request=request, selection=selection)
        self.values = values or GroupValues()
        self.members_to_save: list | None = None

    def to_dict(self) -> dict:
        group: Group = self.obj
        document: dict = {"schemas": [GROUP_SCHEMA], "id": self.id}
        if group.external_id:
            document["externalId"] = group.external_id
        document["displayName"] = group.display_name
        if self.selection.wants(GROUP_SCHEMA, "members"):
            document["members"] = self.members_list()
        document["meta"] = self.meta()
        return document

    def members_list(self) -> list[dict]:
        base = base_url(self.request)
        if self.values.members is None:
            self.values.members = group_member_values([self.obj.pk])[self.obj.pk]
        users = f"{base}/Users/"
        members = []
        for scim_id, display in self.values.members:
            member = {"value": scim_id, "$ref": users + scim_id, "type": "User"}
            if display:
                member["display"] = display
            members.append(member)
        return members

    # --- POST, PUT and DELETE ----------------------------------------------------------------

    def from_dict(self, d: dict) -> None:
        self.validate_dict(d)
        group: Group = self.obj
        was_new = group.pk is None
        old_name = group.display_name
        display_name = attribute(d, "displayName")
        if not isinstance(display_name, str) or not display_name.strip():
            raise invalid_value("displayName is required and must be a non-empty string.")
        group.display_name = string_value(display_name, "displayName", 255)
        group.external_id = string_value(attribute(d, "externalId"), "externalId", 255)
        if has_attribute(d, "members"):
            members = attribute(d, "members")
            if members is not None and not isinstance(members, list):
                raise invalid_value("members must be a list.")
            self.members_to_save = members or []
        if was_new:
            self.actions.append(Action("group.create"))
        elif old_name != group.display_name:
            self.actions.append(Action("group.rename", f"{old_name} → {group.display_name}"))

    def save(self) -> None:
        try:
            change = services.group_save(group=self.obj, members=self.members_to_save)
        except DirectoryError as exc:
            raise as_scim_error(exc) from None
        self._keep_members(change)
        if change.added:
            self.actions.append(Action("group.members.add", f"{change.added} added"))
        if change.removed:
            self.actions.append(Action("group.members.remove", f"{change.removed} removed"))
        if not self.actions:
            self.actions.append(Action("group.update"))

    def delete(self) -> None:
        services.group_delete(group=self.obj)
        self.actions.append(Action("group.delete"))

    def _keep_members(self, change: services.MembershipChange) -> None:
        if change.members is not None:
            self.values.members = change.members

    # --- PATCH -----------------------------------------------------------------------------------

    def patch(self, operations: list[Operation]) -> None:
        """Apply a PATCH's operations as one change and note one action summarising it."""
        gathered = self.gather(operations)
        group: Group = self.obj
        old_name = group.display_name
        renamed = gathered.display_name is not None and gathered.display_name != old_name
        external_id_changed = (
            gathered.external_id is not None and gathered.external_id != group.external_id
        )
        try:
            if renamed or external_id_changed:
                if renamed:
                    group.display_name = gathered.display_name
                if external_id_changed:
                    group.external_id = gathered.external_id
                services.group_save(group=group, members=None)
            change = (
                services.group_members_edit(group=group, edits=gathered.member_edits)
                if gathered.member_edits
                else services.MembershipChange()
            )
        except DirectoryError as exc:
            raise as_scim_error(exc) from None
        self._keep_members(change)
        done = []
        if renamed:
            done.append(Action("group.rename", f"{old_name} → {group.display_name}"))
        if change.added:
            done.append(Action("group.members.add", f"{change.added} added"))
        if change.removed:
            done.append(Action("group.members.remove", f"{change.removed} removed"))
        if len(done) == 1:
            self.actions.append(done[0])
        else:
            self.actions.append(Action("group.update", "; ".join(action.detail for action in done)))

    def gather(self, operations: list[Operation]) -> GroupPatch:
        """Each operation checked and translated, in order; nothing is written."""
        gathered = GroupPatch(member_edits=[])
        for operation in operations:
            path, value = operation.path, operation.value
            name = self._attribute(path)
            plain = path.value_filter is None and path.sub_attribute is None
            if operation.op == "remove":
                if name == "members":
                    if path.value_filter is not None:
                        members = self._members_filter_ids(path)
                    elif value is not None:
                        members = self._members_value(value)
                    else:
                        members = None
                    gathered.member_edits.append(services.MemberEdit("remove", members))
                elif name == "externalId":
                    gathered.external_id = ""
                elif name == "displayName":
                    raise BadRequestError(
                        "displayName is required and cannot be removed.", scim_type="mutability"
                    )
                continue
            if operation.op == "add" and name == "members" and plain:
                gathered.member_edits.append(services.MemberEdit("add", self._members_value(value)))
                continue
            # replace, and add of a single-valued attribute (which replaces it)
            if not plain:
                raise BadRequestError(
                    f"{path.text!r} cannot be replaced; replace 'members' as a whole.",
                    scim_type="invalidPath",
                )
            if name == "displayName":
                display_name = string_value(value, "displayName", 255)
                if not display_name.strip():
                    raise invalid_value("displayName must be a non-empty string.")
                gathered.display_name = display_name
            elif name == "externalId":
                gathered.external_id = string_value(value, "externalId", 255)
            elif name == "members":
                gathered.member_edits.append(
                    services.MemberEdit("replace", self._members_value(value))
                )
            elif name == "id" and value is not None and str(value) != self.id:
                raise BadRequestError("id is read-only and cannot be changed.", scim_type="mutability")
            # meta and attributes outside the Group schema are read-only or unknown: ignored
        return gathered

    @staticmethod
    def _attribute(path: PatchPath) -> str | None:
        if path.uri.lower() != GROUP_SCHEMA.lower() or not path.attribute:
            return None
        names = canonical(GROUP_SCHEMA, path.attribute)
        return names[0] if names else None

    @staticmethod
    def _members_filter_ids(path: PatchPath) -> list[str]:
        """members[value eq "id"] (or an or-list of them) -> the ids."""
        ids: list[str] = []

        def walk(node) -> None:
            if isinstance(node, ast.Filter) and not node.negated:
                walk(node.expr)
            elif isinstance(node, ast.LogExpr) and node.op.lower() == "or":
                walk(node.expr1)
                walk(node.expr2)
            elif (
                isinstance(node, ast.AttrExpr)
                and node.value.lower() == "eq"
                and isinstance(node.attr_path.attr_name, str)
                and node.attr_path.attr_name.lower() == "value"
                and node.comp_value is not None
            ):
                ids.append(str(node.comp_value.value))
            else:
                raise BadRequestError(
                    f"Unsupported members filter in {path.text!r}; use members[value eq \"id\"].",
                    scim_type="invalidPath",
                )

        walk(path.value_filter)
        return ids

    @staticmethod
    def _members_value(value) -> list:
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]
        if not isinstance(value, list):
            raise invalid_value("members must be a list of {\"value\": \"<user id>\"} objects.")
        return value
