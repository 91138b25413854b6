"""django-scim2 adapters: translate between our directory models and SCIM resources.

The library's ``handle_operations`` drives PATCH; the ``handle_add``/``handle_replace``/
``handle_remove`` hooks here apply each operation. Users are patched as a document (the current
resource with the operations applied, then saved like a PUT), which gives every attribute the
same RFC 7644 semantics. Group membership is patched as deltas, so a 50,000-member group is never
loaded to add one member. Tenancy, locking and rules live in the views and services.
"""

from __future__ import annotations

from dataclasses import dataclass

from django_scim.adapters import SCIMGroup, SCIMUser
from django_scim.exceptions import BadRequestError

from directory import services
from directory.errors import DirectoryError
from directory.models import DirectoryUser, Group
from directory.scim.attributes import AttributeSelection
from directory.scim.http import as_scim_error
from directory.scim.paths import PatchPath, element_matches, equality_template, parse_patch_path
from directory.scim.schema import (
    ENTERPRISE_ATTRIBUTES,
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    READ_ONLY,
    USER_MULTI_VALUED,
    USER_OTHER_MULTI_VALUED,
    USER_SCHEMA,
    base_url,
    canonical,
)
from directory.sql import group_member_values, user_email_values, user_group_values

MAX_MULTI_VALUES = 50


def invalid_value(detail: str) -> BadRequestError:
    return BadRequestError(detail, scim_type="invalidValue")


def isoformat(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def version_of(obj) -> str:
    return f'W/"{int(obj.last_modified_at.timestamp() * 1_000_000):x}"'


@dataclass(frozen=True)
class Action:
    """A provisioning action the request performed, recorded as an event by the view."""

    name: str
    detail: str = ""


def _get(d: dict, name: str):
    """SCIM attribute names are case-insensitive."""
    if name in d:
        return d[name]
    lowered = name.lower()
    return next((v for k, v in d.items() if isinstance(k, str) and k.lower() == lowered), None)


def _has(d: dict, name: str) -> bool:
    lowered = name.lower()
    return any(isinstance(k, str) and k.lower() == lowered for k in d)


def _text(value, label: str, max_length: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, dict | list):
        raise invalid_value(f"{label} must be a string.")
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise invalid_value(f"{label} must be a string.")
    if len(value) > max_length:
        raise invalid_value(f"{label} can be at most {max_length} characters.")
    return value


def coerce_bool(value, label: str) -> bool:
    """Booleans, and the "True"/"False" strings Microsoft Entra ID sends."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid_value(f'"{label}" must be a boolean (true or false).')


def _multi(value, label: str) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid_value(f"{label} must be a list of objects.")
    if len(value) > MAX_MULTI_VALUES:
        raise invalid_value(f"{label} can hold at most {MAX_MULTI_VALUES} values.")
    return value


def _clean_multi(value, label: str) -> list[dict]:
    items = []
    for item in _multi(value, label):
        clean = {}
        for key, sub in item.items():
            if sub is None:
                continue
            if key.lower() == "primary":
                clean["primary"] = coerce_bool(sub, f"{label}.primary")
            elif isinstance(sub, str | int | float | bool):
                clean[key] = _text(sub, f"{label}.{key}", 1024) if not isinstance(sub, bool) else sub
            else:
                raise invalid_value(f"{label}.{key} must be a simple value.")
        if clean:
            items.append(clean)
    return items


class ScimAdapterMixin:
    """What both adapters share: ids, locations, ETags, attribute selection, actions."""

    id_field = "scim_id"
    endpoint = ""

    def __init__(self, obj, request=None, selection: AttributeSelection | None = None):
        super().__init__(obj, request=request)
        self.selection = selection or AttributeSelection(None, frozenset())
        self.actions: list[Action] = []
        self._document: dict | None = None

    @property
    def location(self) -> str:
        return f"{base_url(self.request)}/{self.endpoint}/{self.id}"

    @property
    def version(self) -> str:
        return version_of(self.obj)

    def meta(self) -> dict:
        return {
            "resourceType": self.resource_type,
            "created": isoformat(self.obj.created_at),
            "lastModified": isoformat(self.obj.last_modified_at),
            "location": self.location,
            "version": self.version,
        }

    def validate_dict(self, d) -> None:
        if not isinstance(d, dict):
            raise BadRequestError("The request body must be a JSON object.", scim_type="invalidSyntax")
        declared = _get(d, "schemas")
        if declared is None or self._document is not None:
            return  # clients that leave "schemas" out are served; PATCH documents are ours
        if not isinstance(declared, list) or not any(
            isinstance(uri, str) and uri.lower() == self.schema.lower() for uri in declared
        ):
            raise BadRequestError(
                f"'schemas' must include {self.schema} for a {self.resource_type}.",
                scim_type="invalidSyntax",
            )

    def _default_validate_op(self, path, value, operation) -> None:
        """Values are checked where they are applied, with the attribute's name in the error."""

    def handle_operations(self, operations) -> None:
        if not isinstance(operations, list) or not operations:
            raise BadRequestError(
                "A PATCH body needs a non-empty 'Operations' list.", scim_type="invalidSyntax"
            )
        for operation in operations:
            if not isinstance(operation, dict) or not isinstance(_get(operation, "op"), str):
                raise BadRequestError(
                    "Each PATCH operation must be an object with an 'op'.",
                    scim_type="invalidSyntax",
                )
            op = _get(operation, "op").lower()
            if op not in ("add", "remove", "replace"):
                raise BadRequestError(
                    f"Unknown PATCH op {_get(operation, 'op')!r}; use add, remove or replace.",
                    scim_type="invalidSyntax",
                )
            path = _get(operation, "path")
            if path is not None and not isinstance(path, str):
                raise BadRequestError("A PATCH path must be a string.", scim_type="invalidPath")
            if op == "remove" and not path:
                raise BadRequestError(
                    "A remove operation needs a 'path' naming what to remove.", scim_type="noTarget"
                )
            if op != "remove" and not _has(operation, "value"):
                raise BadRequestError(f"The {op!r} operation needs a 'value'.", scim_type="invalidValue")
        normalized = [
            {"op": _get(o, "op").lower(), "path": _get(o, "path") or None, "value": _get(o, "value")}
            for o in operations
        ]
        super().handle_operations(normalized)

    def parse_path_and_values(self, path, value) -> list:
        if path:
            return [(parse_patch_path(path, self.schema), value)]
        if not isinstance(value, dict):
            raise BadRequestError(
                "A PATCH operation without a path needs an object as its value.",
                scim_type="invalidValue",
            )
        return [(parse_patch_path(key, self.schema), item) for key, item in value.items()]


class UserAdapter(ScimAdapterMixin, SCIMUser):
    """A DirectoryUser as a SCIM User (core schema plus the enterprise extension)."""

    endpoint = "Users"
    schema = USER_SCHEMA

    def __init__(self, obj, request=None, selection: AttributeSelection | None = None):
        super().__init__(obj, request=request, selection=selection)
        self.emails_to_save: list[services.EmailAddress] | None = None

    # --- reading ---------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return self.resource_document(groups=self.selection.wants(USER_SCHEMA, "groups"))

    def resource_document(self, *, groups: bool) -> dict:
        user: DirectoryUser = self.obj
        name = {
            "formatted": user.formatted_name,
            "familyName": user.family_name,
            "givenName": user.given_name,
            "middleName": user.middle_name,
            "honorificPrefix": user.honorific_prefix,
            "honorificSuffix": user.honorific_suffix,
        }
        document: dict = {"schemas": [USER_SCHEMA], "id": self.id}
        if user.external_id:
            document["externalId"] = user.external_id
        document["userName"] = user.user_name
        name = {key: value for key, value in name.items() if value}
        if name:
            document["name"] = name
        for key, field in (
            ("displayName", "display_name"),
            ("nickName", "nick_name"),
            ("profileUrl", "profile_url"),
            ("title", "title"),
            ("userType", "user_type"),
            ("preferredLanguage", "preferred_language"),
            ("locale", "locale"),
            ("timezone", "time_zone"),
        ):
            if getattr(user, field):
                document[key] = getattr(user, field)
        document["active"] = user.is_active
        emails = [self._email_dict(*row) for row in self.email_values()]
        if emails:
            document["emails"] = emails
        if user.phone_numbers:
            document["phoneNumbers"] = user.phone_numbers
        if user.addresses:
            document["addresses"] = user.addresses
        for key in USER_OTHER_MULTI_VALUED:
            if user.other_attributes.get(key):
                document[key] = user.other_attributes[key]
        if groups:
            document["groups"] = self.groups_list()
        if user.enterprise:
            document["schemas"] = [USER_SCHEMA, ENTERPRISE_SCHEMA]
            document[ENTERPRISE_SCHEMA] = user.enterprise
        document["meta"] = self.meta()
        return document

    def email_values(self) -> list[tuple]:
        """(value, type, display, primary) per address: prefetched for a page, else one query."""
        values = getattr(self.obj, "email_values", None)
        if values is None:
            values = self.obj.email_values = user_email_values([self.obj.pk])[self.obj.pk]
        return values

    @staticmethod
    def _email_dict(value: str, type_: str, display: str, is_primary: bool) -> dict:
        email = {"value": value}
        if type_:
            email["type"] = type_
        if display:
            email["display"] = display
        email["primary"] = is_primary
        return email

    def groups_list(self) -> list[dict]:
        base = base_url(self.request)
        rows = getattr(self.obj, "group_values", None)
        if rows is None:
            rows = self.obj.group_values = user_group_values([self.obj.pk])[self.obj.pk]
        return [
            {"value": scim_id, "display": name, "$ref": f"{base}/Groups/{scim_id}", "type": "direct"}
            for scim_id, name in rows
        ]

    # --- writing (POST and PUT) ---------------------------------------------------------------

    def from_dict(self, d: dict) -> None:
        """Take a full User resource; read-only attributes and ``password`` are ignored."""
        self.validate_dict(d)
        user: DirectoryUser = self.obj
        was_new = user.pk is None
        was_active = user.is_active

        user_name = _get(d, "userName")
        if not isinstance(user_name, str) or not user_name.strip():
            raise invalid_value("userName is required and must be a non-empty string.")
        user.user_name = _text(user_name, "userName", 320)
        user.external_id = _text(_get(d, "externalId"), "externalId", 255)

        name = _get(d, "name")
        if name is not None and not isinstance(name, dict):
            raise invalid_value("name must be an object.")
        name = name or {}
        user.given_name = _text(_get(name, "givenName"), "name.givenName", 255)
        user.family_name = _text(_get(name, "familyName"), "name.familyName", 255)
        user.middle_name = _text(_get(name, "middleName"), "name.middleName", 255)
        user.honorific_prefix = _text(_get(name, "honorificPrefix"), "name.honorificPrefix", 64)
        user.honorific_suffix = _text(_get(name, "honorificSuffix"), "name.honorificSuffix", 64)
        user.formatted_name = _text(_get(name, "formatted"), "name.formatted", 512)

        for key, field, max_length in (
            ("displayName", "display_name", 512),
            ("nickName", "nick_name", 255),
            ("profileUrl", "profile_url", 1024),
            ("title", "title", 255),
            ("userType", "user_type", 64),
            ("preferredLanguage", "preferred_language", 64),
            ("locale", "locale", 64),
            ("timezone", "time_zone", 64),
        ):
            setattr(user, field, _text(_get(d, key), key, max_length))

        if _get(d, "active") is not None:
            user.set_active(coerce_bool(_get(d, "active"), "active"))

        self.emails_to_save = self._emails(_get(d, "emails"))
        user.phone_numbers = _clean_multi(_get(d, "phoneNumbers"), "phoneNumbers")
        user.addresses = _clean_multi(_get(d, "addresses"), "addresses")
        user.other_attributes = {
            key: cleaned
            for key in USER_OTHER_MULTI_VALUED
            if (cleaned := _clean_multi(_get(d, key), key))
        }
        user.enterprise = self._enterprise(_get(d, ENTERPRISE_SCHEMA))

        if was_new:
            self.actions.append(Action("user.create"))
        elif was_active and not user.is_active:
            self.actions.append(Action("user.deactivate"))
        elif user.is_active and not was_active:
            self.actions.append(Action("user.reactivate"))
        else:
            self.actions.append(Action("user.update"))

    def _emails(self, value) -> list[services.EmailAddress]:
        emails = []
        seen_primary = False
        for item in _multi(value, "emails"):
            address = _get(item, "value")
            if not isinstance(address, str) or not address.strip():
                raise invalid_value("Each email needs a non-empty string 'value'.")
            primary = coerce_bool(_get(item, "primary") or False, "emails.primary")
            emails.append(
                services.EmailAddress(
                    value=_text(address.strip(), "emails.value", 320),
                    type=_text(_get(item, "type"), "emails.type", 32),
                    display=_text(_get(item, "display"), "emails.display", 320),
                    is_primary=primary and not seen_primary,
                )
            )
            seen_primary = seen_primary or primary
        return emails

    @staticmethod
    def _enterprise(value) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise invalid_value(f"{ENTERPRISE_SCHEMA} must be an object.")
        enterprise = {}
        for key, item in value.items():
            names = canonical(ENTERPRISE_SCHEMA, key)
            if names is None or item is None:
                continue  # attributes outside the extension are accepted and ignored
            attribute = names[0]
            if attribute == "manager":
                if isinstance(item, str):
                    item = {"value": item}
                if not isinstance(item, dict):
                    raise invalid_value("manager must be an object.")
                manager = {
                    sub: _text(_get(item, sub), f"manager.{sub}", 255)
                    for sub in ("value", "displayName", "$ref")
                    if _get(item, sub) is not None
                }
                if manager:
                    enterprise["manager"] = manager
            else:
                text = _text(item, attribute, 255)
                if text:
                    enterprise[attribute] = text
        return enterprise

    def save(self) -> None:
        try:
            services.user_save(user=self.obj, emails=self.emails_to_save)
        except DirectoryError as exc:
            raise as_scim_error(exc) from None

    def delete(self) -> None:
        services.user_delete(user=self.obj)
        self.actions.append(Action("user.delete"))

    # --- PATCH: operations applied to the current document -------------------------------------

    def handle_operations(self, operations) -> None:
        document = self.resource_document(groups=False)
        for key in ("meta", "id", "schemas"):
            document.pop(key, None)
        self._document = document
        super().handle_operations(operations)
        self.from_dict(self._document)
        self._document = None
        self.save()

    def _target(self, path: PatchPath):
        """The dict holding the path's attribute, and the attribute's canonical name.

        Returns (None, None) for attributes outside our schemas: accepted and ignored.
        """
        if path.uri.lower() == ENTERPRISE_SCHEMA.lower():
            container = self._document.setdefault(ENTERPRISE_SCHEMA, {})
            if not path.attribute:
                return self._document, ENTERPRISE_SCHEMA
            names = canonical(ENTERPRISE_SCHEMA, path.attribute)
        elif path.uri.lower() == USER_SCHEMA.lower():
            container = self._document
            names = canonical(USER_SCHEMA, path.attribute) if path.attribute else None
        else:
            return None, None
        if names is None or names[0] in READ_ONLY or names[0] == "password":
            return None, None
        return container, names[0]

    def _sub_name(self, path: PatchPath, attribute: str) -> str | None:
        if path.sub_attribute is None:
            return None
        schema = ENTERPRISE_SCHEMA if attribute in ENTERPRISE_ATTRIBUTES else USER_SCHEMA
        names = canonical(schema, attribute, path.sub_attribute)
        if names is None:
            raise BadRequestError(
                f"{path.text!r} names an unknown sub-attribute.", scim_type="invalidPath"
            )
        return names[1]

    def _is_multi(self, attribute: str) -> bool:
        return attribute in USER_MULTI_VALUED

    def _matching(self, container: dict, attribute: str, path: PatchPath, create: bool):
        items = container.get(attribute)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise BadRequestError(
                f"{path.text!r} filters an attribute that is not multi-valued.",
                scim_type="invalidPath",
            )
        matches = [item for item in items if element_matches(item, path.value_filter)]
        if not matches and create:
            template = equality_template(path.value_filter)
            if template is None:
                raise BadRequestError(
                    f"No value matches {path.text!r}.", scim_type="noTarget"
                )
            items.append(template)
            matches = [template]
        container[attribute] = items
        return matches

    def _set(self, path: PatchPath, value, merge_lists: bool) -> None:
        container, attribute = self._target(path)
        if container is None:
            return
        if attribute == ENTERPRISE_SCHEMA:
            if not isinstance(value, dict):
                raise invalid_value(f"{ENTERPRISE_SCHEMA} must be an object.")
            container.setdefault(ENTERPRISE_SCHEMA, {}).update(value)
            return
        sub = self._sub_name(path, attribute)
        if path.value_filter is not None:
            for item in self._matching(container, attribute, path, create=True):
                if sub:
                    item[sub] = value
                elif isinstance(value, dict):
                    item.update(value)
                else:
                    raise invalid_value(f"The value for {path.text!r} must be an object.")
            self._single_primary(container, attribute)
            return
        if sub:
            current = container.get(attribute)
            if self._is_multi(attribute):
                for item in current or []:
                    item[sub] = value
                return
            if not isinstance(current, dict):
                current = {}
            current[sub] = value
            container[attribute] = current
            return
        if self._is_multi(attribute):
            incoming = value if isinstance(value, list) else [value]
            if merge_lists:
                existing = container.get(attribute) or []
                known = {str(_get(item, "value")).lower() for item in existing if isinstance(item, dict)}
                for item in incoming:
                    key = str(_get(item, "value")).lower() if isinstance(item, dict) else None
                    if key is None or key not in known:
                        existing.append(item)
                container[attribute] = existing
            else:
                container[attribute] = incoming
            self._single_primary(container, attribute)
            return
        current = container.get(attribute)
        if isinstance(value, dict) and isinstance(current, dict):
            current.update(value)
        else:
            container[attribute] = value

    @staticmethod
    def _single_primary(container: dict, attribute: str) -> None:
        """When an operation makes one value primary, the others stop being primary."""
        items = container.get(attribute)
        if not isinstance(items, list):
            return
        primaries = [item for item in items if isinstance(item, dict) and item.get("primary") is True]
        for item in primaries[:-1]:
            item["primary"] = False

    def handle_add(self, path, value, operation) -> None:
        self._set(path, value, merge_lists=True)

    def handle_replace(self, path, value, operation) -> None:
        self._set(path, value, merge_lists=False)

    def handle_remove(self, path, value, operation) -> None:
        container, attribute = self._target(path)
        if container is None:
            return
        if attribute == ENTERPRISE_SCHEMA:
            container.pop(ENTERPRISE_SCHEMA, None)
            return
        if attribute == "userName":
            raise BadRequestError("userName is required and cannot be removed.", scim_type="mutability")
        if attribute == "active":
            raise BadRequestError(
                "active cannot be removed; replace it with false to deactivate the user.",
                scim_type="mutability",
            )
        sub = self._sub_name(path, attribute)
        if path.value_filter is not None:
            matches = self._matching(container, attribute, path, create=False)
            if sub:
                for item in matches:
                    item.pop(sub, None)
            else:
                container[attribute] = [i for i in container[attribute] if i not in matches]
            return
        if sub:
            current = container.get(attribute)
            if isinstance(current, dict):
                current.pop(sub, None)
            elif isinstance(current, list):
                for item in current:
                    item.pop(sub, None)
            return
        if self._is_multi(attribute) and isinstance(value, list) and value:
            drop = {str(_get(v, "value")).lower() for v in value if isinstance(v, dict)}
            container[attribute] = [
                item
                for item in container.get(attribute) or []
                if str(_get(item, "value")).lower() not in drop
            ]
            return
        container.pop(attribute, None)


class GroupAdapter(ScimAdapterMixin, SCIMGroup):
    """A Group as a SCIM Group; members are users of the same account, by our SCIM id."""

    endpoint = "Groups"
    schema = GROUP_SCHEMA

    def __init__(self, obj, request=None, selection: AttributeSelection | None = None):
        super().__init__(obj, request=request, selection=selection)
        self.members_to_save: list | None = None
        self.membership_change = services.MembershipChange()

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
        rows = getattr(self.obj, "member_rows", None)
        if rows is None:
            rows = group_member_values([self.obj.pk])[self.obj.pk]
        users = f"{base}/Users/"
        members = []
        for scim_id, display in rows:
            member = {"value": scim_id, "$ref": users + scim_id, "type": "User"}
            if display:
                member["display"] = display
            members.append(member)
        return members

    def from_dict(self, d: dict) -> None:
        self.validate_dict(d)
        group: Group = self.obj
        was_new = group.pk is None
        old_name = group.display_name
        display_name = _get(d, "displayName")
        if not isinstance(display_name, str) or not display_name.strip():
            raise invalid_value("displayName is required and must be a non-empty string.")
        group.display_name = _text(display_name, "displayName", 255)
        group.external_id = _text(_get(d, "externalId"), "externalId", 255)
        if _has(d, "members"):
            members = _get(d, "members")
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
        self._note_membership(change)
        if not self.actions:
            self.actions.append(Action("group.update"))

    def _note_membership(self, change: services.MembershipChange) -> None:
        self.membership_change += change
        if change.added:
            self.actions.append(Action("group.members.add", f"{change.added} added"))
        if change.removed:
            self.actions.append(Action("group.members.remove", f"{change.removed} removed"))

    def delete(self) -> None:
        services.group_delete(group=self.obj)
        self.actions.append(Action("group.delete"))

    # --- PATCH ---------------------------------------------------------------------------------

    def handle_operations(self, operations) -> None:
        try:
            super().handle_operations(operations)
        except DirectoryError as exc:
            raise as_scim_error(exc) from None
        if not self.actions:
            self.actions.append(Action("group.update"))

    def _attribute(self, path: PatchPath) -> str | None:
        if path.uri.lower() != GROUP_SCHEMA.lower() or not path.attribute:
            return None
        names = canonical(GROUP_SCHEMA, path.attribute)
        return names[0] if names else None

    def _members_filter_ids(self, path: PatchPath) -> list[str]:
        """members[value eq "id"] (or an or-list of them) -> the ids."""
        ids: list[str] = []

        def walk(node) -> None:
            from scim2_filter_parser import ast

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
                ids.append(node.comp_value.value)
            else:
                raise BadRequestError(
                    f"Unsupported members filter in {path.text!r}; use members[value eq \"id\"].",
                    scim_type="invalidPath",
                )

        walk(path.value_filter)
        return ids

    def _rename(self, value) -> None:
        name = _text(value, "displayName", 255)
        if not name.strip():
            raise invalid_value("displayName must be a non-empty string.")
        if name == self.obj.display_name:
            return
        old_name = self.obj.display_name
        self.obj.display_name = name
        change = services.group_save(group=self.obj, members=None)
        self._note_membership(change)
        self.actions.append(Action("group.rename", f"{old_name} → {name}"))

    def _set_external_id(self, value) -> None:
        self.obj.external_id = _text(value, "externalId", 255)
        services.group_save(group=self.obj, members=None)

    def _check_id(self, value) -> None:
        if value is not None and str(value) != self.id:
            raise BadRequestError("id is read-only and cannot be changed.", scim_type="mutability")

    @staticmethod
    def _members_value(value) -> list:
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]
        if not isinstance(value, list):
            raise invalid_value("members must be a list of {\"value\": \"<user id>\"} objects.")
        return value

    def handle_add(self, path, value, operation) -> None:
        attribute = self._attribute(path)
        if attribute == "members" and path.value_filter is None and path.sub_attribute is None:
            change = services.group_members_add(group=self.obj, members=self._members_value(value))
            self._note_membership(change)
        else:
            self.handle_replace(path, value, operation)

    def handle_replace(self, path, value, operation) -> None:
        attribute = self._attribute(path)
        if path.value_filter is not None or path.sub_attribute is not None:
            raise BadRequestError(
                f"{path.text!r} cannot be replaced; replace 'members' as a whole.",
                scim_type="invalidPath",
            )
        if attribute == "displayName":
            self._rename(value)
        elif attribute == "externalId":
            self._set_external_id(value)
        elif attribute == "members":
            change = services.group_members_replace(
                group=self.obj, members=self._members_value(value)
            )
            self._note_membership(change)
        elif attribute == "id":
            self._check_id(value)
        # meta and attributes outside the Group schema are read-only or unknown: ignored

    def handle_remove(self, path, value, operation) -> None:
        attribute = self._attribute(path)
        if attribute == "members":
            if path.value_filter is not None:
                members = self._members_filter_ids(path)
            elif value is not None:
                members = self._members_value(value)
            else:
                members = None
            change = services.group_members_remove(group=self.obj, members=members)
            self._note_membership(change)
        elif attribute == "externalId":
            self._set_external_id("")
        elif attribute == "displayName":
            raise BadRequestError("displayName is required and cannot be removed.", scim_type="mutability")
