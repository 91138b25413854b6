"""What the django-scim2 adapters share: ids, locations, ETags, attribute selection, the
actions a request performed, and DirectoryError as a SCIM error.

The adapters themselves are ``directory/scim/users.py`` and ``directory/scim/groups.py``;
PATCH operations are parsed and bounded in ``directory/scim/patch.py``. Tenancy, locking and
rules live in the views and services.
"""

from __future__ import annotations

from dataclasses import dataclass

from django_scim.exceptions import BadRequestError

from directory.scim.attributes import AttributeSelection
from directory.scim.schema import base_url
from directory.scim.validation import attribute


def isoformat(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def version_of(obj) -> str:
    return f'W/"{int(obj.last_modified_at.timestamp() * 1_000_000):x}"'


@dataclass(frozen=True)
class Action:
    """A provisioning action the request performed, recorded as an event by the view."""

    name: str
    detail: str = ""


class ScimAdapterMixin:
    """What both adapters share: ids, locations, ETags, attribute selection, actions."""

    id_field = "scim_id"
    endpoint = ""

    def __init__(self, obj, request=None, selection: AttributeSelection | None = None):
        super().__init__(obj, request=request)
        self.selection = selection or AttributeSelection(None, frozenset())
        self.actions: list[Action] = []

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

    def validate_dict(self, d, *, own_document: bool = False) -> None:
        """A resource body is an object declaring our schema, if it declares any.

        ``own_document``: the document a PATCH built from the stored resource, not a body.
        """
        if not isinstance(d, dict):
            raise BadRequestError("The request body must be a JSON object.", scim_type="invalidSyntax")
        declared = attribute(d, "schemas")
        if declared is None or own_document:
            return  # clients that leave "schemas" out are served
        if not isinstance(declared, list) or not any(
            isinstance(uri, str) and uri.lower() == self.schema.lower() for uri in declared
        ):
            raise BadRequestError(
                f"'schemas' must include {self.schema} for a {self.resource_type}.",
                scim_type="invalidSyntax",
            )

    def handle_operations(self, operations) -> None:
        raise NotImplementedError("PATCH goes through patch() with parsed operations.")
