"""sortBy and sortOrder as an ORDER BY."""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Upper
from django_scim.exceptions import BadRequestError

from directory.scim.attributes import split_attribute_path
from directory.scim.filters import invalid_filter
from directory.scim.schema import GROUP_SCHEMA, USER_SCHEMA, canonical

SORT_FIELDS = {
    USER_SCHEMA: {
        ("userName", None): "user_name",
        ("externalId", None): "external_id",
        ("displayName", None): "display_name",
        ("name", "givenName"): "given_name",
        ("name", "familyName"): "family_name",
        ("title", None): "title",
        ("active", None): "is_active",
        ("emails", None): "email",
        ("emails", "value"): "email",
        ("meta", "created"): "created_at",
        ("meta", "lastModified"): "last_modified_at",
    },
    GROUP_SCHEMA: {
        ("displayName", None): "display_name",
        ("externalId", None): "external_id",
        ("meta", "created"): "created_at",
        ("meta", "lastModified"): "last_modified_at",
    },
}

CASE_INSENSITIVE_SORTS = {"user_name", "display_name", "given_name", "family_name", "title", "email"}


def sort_field(sort_by: str | None, sort_order: str | None, schema: str) -> list:
    """ORDER BY for sortBy/sortOrder; always ends with the primary key so pages are stable."""
    # A .search body can hold any JSON here, not only the query string's text.
    if sort_order is not None and not isinstance(sort_order, str):
        raise BadRequestError(
            f"sortOrder must be 'ascending' or 'descending', not {sort_order!r}.",
            scim_type="invalidValue",
        )
    if sort_by is not None and not isinstance(sort_by, str):
        raise invalid_filter(f"sortBy must be an attribute name, not {sort_by!r}.")
    order = (sort_order or "ascending").strip().lower()
    if order not in ("ascending", "descending"):
        raise BadRequestError(
            f"sortOrder must be 'ascending' or 'descending', not {sort_order!r}.",
            scim_type="invalidValue",
        )
    if not sort_by:
        return ["id"]
    uri, name, sub = split_attribute_path(sort_by, schema)
    names = canonical(uri, name, sub) if uri.lower() == schema.lower() and name else None
    column = SORT_FIELDS[schema].get(names) if names else None
    if column is None:
        raise invalid_filter(f"Sorting by {sort_by!r} is not supported.")
    descending = order == "descending"
    expression = Upper(column) if column in CASE_INSENSITIVE_SORTS else F(column)
    primary = expression.desc() if descending else expression.asc()
    return [primary, "-id" if descending else "id"]
