"""The SCIM User resource: a DirectoryUser in the core schema plus the enterprise extension.

A PATCH is applied to the user's current document and saved like a PUT
(``directory/scim/patch.py``), which gives every attribute the same RFC 7644 semantics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models
from django_scim.adapters import SCIMUser

from directory import services
from directory.errors import DirectoryError
from directory.models import DirectoryUser
from directory.scim.adapters import Action, ScimAdapterMixin
from directory.scim.attributes import AttributeSelection
from directory.scim.http import as_scim_error
from directory.scim.patch import Operation, UserDocumentPatch
from directory.scim.schema import (
    ENTERPRISE_SCHEMA,
    USER_OTHER_MULTI_VALUED,
    USER_SCHEMA,
    base_url,
    canonical,
)
from directory.scim.validation import (
    attribute,
    clean_multi_valued,
    coerce_bool,
    invalid_value,
    multi_valued,
    string_value,
)
from directory.sql import user_email_values, user_group_values


@dataclass
class UserValues:
    """A user's emails and groups as this request read them: a page reads them for all its
    users in one query, a write before taking its lock."""

    # (value, type, display, is_primary) per address; None: not read yet
    emails: list[tuple[str, str, str, bool]] | None = None
    # (SCIM id, displayName) per group; None: not read yet
    groups: list[tuple[str, str]] | None = None


class UserAdapter(ScimAdapterMixin, SCIMUser):
    """A DirectoryUser as a SCIM User (core schema plus the enterprise extension)."""

    endpoint = "Users"
    schema = USER_SCHEMA

    def __init__(
        self,
        obj,
        request=None,
        selection: AttributeSelection | None = None,
        values: UserValues | None = None,
    ):
        super().__init__(obj, request=request, selection=selection)
        self.values = values or UserValues()
        self.emails_to_save: list[services.EmailAddress] | None = None
        # The user as read, so the save can tell what changed (None for a new user).
        self.loaded = services.LoadedUser.of(obj, self.values.emails) if obj.pk else None

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
        """(value, type, display, primary) per address: read with the page, else one query."""
        if self.values.emails is None:
            self.values.emails = user_email_values([self.obj.pk])[self.obj.pk]
        return self.values.emails

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
        if self.values.groups is None:
            self.values.groups = user_group_values([self.obj.pk])[self.obj.pk]
        return [
            {"value": scim_id, "display": name, "$ref": f"{base}/Groups/{scim_id}", "type": "direct"}
            for scim_id, name in self.values.groups
        ]

    # --- writing (POST and PUT) ---------------------------------------------------------------

    def from_dict(self, d: dict, *, own_document: bool = False) -> None:
        """Take a full User resource; read-only attributes and ``password`` are ignored."""
        self.validate_dict(d, own_document=own_document)
        user: DirectoryUser = self.obj
        was_new = user.pk is None
        was_active = user.is_active

        user_name = attribute(d, "userName")
        if not isinstance(user_name, str) or not user_name.strip():
            raise invalid_value("userName is required and must be a non-empty string.")
        user.user_name = string_value(user_name, "userName", 320)
        user.external_id = string_value(attribute(d, "externalId"), "externalId", 255)

        name = attribute(d, "name")
        if name is not None and not isinstance(name, dict):
            raise invalid_value("name must be an object.")
        name = name or {}
        user.given_name = string_value(attribute(name, "givenName"), "name.givenName", 255)
        user.family_name = string_value(attribute(name, "familyName"), "name.familyName", 255)
        user.middle_name = string_value(attribute(name, "middleName"), "name.middleName", 255)
        user.honorific_prefix = string_value(attribute(name, "honorificPrefix"), "name.honorificPrefix", 64)
        user.honorific_suffix = string_value(attribute(name, "honorificSuffix"), "name.honorificSuffix", 64)
        user.formatted_name = string_value(attribute(name, "formatted"), "name.formatted", 512)

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
            setattr(user, field, string_value(attribute(d, key), key, max_length))

        if attribute(d, "active") is not None:
            user.set_active(coerce_bool(attribute(d, "active"), "active"))

        self.emails_to_save = self._emails(attribute(d, "emails"))
        user.phone_numbers = clean_multi_valued(attribute(d, "phoneNumbers"), "phoneNumbers")
        user.addresses = clean_multi_valued(attribute(d, "addresses"), "addresses")
        user.other_attributes = {
            key: cleaned
            for key in USER_OTHER_MULTI_VALUED
            if (cleaned := clean_multi_valued(attribute(d, key), key))
        }
        user.enterprise = self._enterprise(attribute(d, ENTERPRISE_SCHEMA))

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
        for item in multi_valued(value, "emails"):
            address = attribute(item, "value")
            if not isinstance(address, str) or not address.strip():
                raise invalid_value("Each email needs a non-empty string 'value'.")
            primary = coerce_bool(attribute(item, "primary") or False, "emails.primary")
            emails.append(
                services.EmailAddress(
                    value=string_value(address.strip(), "emails.value", 320),
                    type=string_value(attribute(item, "type"), "emails.type", 32),
                    display=string_value(attribute(item, "display"), "emails.display", 320),
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
            canonical_name = names[0]
            if canonical_name == "manager":
                if isinstance(item, str):
                    item = {"value": item}
                if not isinstance(item, dict):
                    raise invalid_value("manager must be an object.")
                manager = {
                    sub: string_value(attribute(item, sub), f"manager.{sub}", 255)
                    for sub in ("value", "displayName", "$ref")
                    if attribute(item, sub) is not None
                }
                if manager:
                    enterprise["manager"] = manager
            else:
                text = string_value(item, canonical_name, 255)
                if text:
                    enterprise[canonical_name] = text
        return enterprise

    def create(self, *, records: Sequence[models.Model] = ()) -> None:
        """Insert the user ``from_dict`` built, with ``records`` (its events)."""
        try:
            services.user_create(user=self.obj, emails=self.emails_to_save or [], records=records)
        except DirectoryError as exc:
            raise as_scim_error(exc) from None
        self.values.emails = [e.row for e in self.emails_to_save or []]
        self.values.groups = []  # nothing to read back: a new user is in no group yet

    def is_plain_update(self) -> bool:
        """Whether saving the change writes the user's own columns and nothing else."""
        return services.user_update_is_plain(user=self.obj, loaded=self.loaded, emails=self.emails_to_save)

    def save_at_version(self, version: str, *, records: Sequence[models.Model] = ()) -> bool:
        """Save a plain update if the user's row is still at ``version``; whether it was."""
        return services.user_update_at_version(user=self.obj, version=version, records=records)

    def save(self) -> None:
        """Save the change ``from_dict`` made to the user read under its row lock."""
        try:
            services.user_save(user=self.obj, emails=self.emails_to_save, loaded=self.loaded)
        except DirectoryError as exc:
            raise as_scim_error(exc) from None
        if self.emails_to_save is not None:
            self.values.emails = [e.row for e in self.emails_to_save]

    def delete(self) -> None:
        services.user_delete(user=self.obj)
        self.actions.append(Action("user.delete"))

    # --- PATCH: operations applied to the current document -------------------------------------

    def apply_patch(self, operations: list[Operation]) -> None:
        """Apply the operations to the user in memory, as a PUT of the patched document."""
        document = self.resource_document(groups=False)
        for key in ("meta", "id", "schemas"):
            document.pop(key, None)
        self.from_dict(UserDocumentPatch(document).apply(operations), own_document=True)
