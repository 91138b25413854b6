"""attributes= and excludedAttributes=: which parts of a resource document a client asked for."""

from __future__ import annotations

from dataclasses import dataclass

from directory.scim.filters import invalid_filter
from directory.scim.schema import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    canonical,
)


def split_attribute_path(text: str, schema: str) -> tuple[str, str, str | None]:
    """'urn:...:User:name.givenName' -> (schema URI, 'name', 'givenName')."""
    text = text.strip()
    uri = schema
    for known in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA):
        if text.lower() == known.lower():
            return known, "", None
    if text.lower().startswith("urn:"):
        head, _, tail = text.rpartition(":")
        uri, text = head, tail
        if not text and head:
            # the schema URN alone, e.g. the enterprise extension as a whole
            return head, "", None
    name, _, sub = text.partition(".")
    return uri, name, sub or None


@dataclass(frozen=True)
class AttributeSelection:
    """The client's attributes= / excludedAttributes= as canonical (schema, name, sub)."""

    included: frozenset[tuple[str, str, str | None]] | None
    excluded: frozenset[tuple[str, str, str | None]]

    def wants(self, schema: str, name: str) -> bool:
        if self.included is not None:
            return any(s == schema and n == name for s, n, _ in self.included)
        return (schema, name, None) not in self.excluded


def parse_attribute_list(raw: str | list | None, schema: str, parameter: str) -> set | None:
    if raw is None:
        return None
    if not isinstance(raw, (str, list)):
        raise invalid_filter(f"{parameter} must be a comma-separated string or a list of attribute names.")
    items = raw if isinstance(raw, list) else raw.split(",")
    selected = set()
    for item in items:
        if not isinstance(item, str):
            raise invalid_filter(f"{parameter} must list attribute names.")
        if not item.strip():
            continue
        uri, name, sub = split_attribute_path(item, schema)
        if not name:
            known = uri.lower() in (ENTERPRISE_SCHEMA.lower(), schema.lower())
            if not known:
                raise invalid_filter(f"{parameter} names unknown schema {item.strip()!r}.")
            selected.add((ENTERPRISE_SCHEMA if "enterprise" in uri.lower() else schema, "", None))
            continue
        try:
            names = canonical(uri, name, sub)
        except KeyError:
            names = None
        if names is None:
            raise invalid_filter(f"{parameter} names unknown attribute {item.strip()!r}.")
        canonical_uri = ENTERPRISE_SCHEMA if uri.lower() == ENTERPRISE_SCHEMA.lower() else schema
        selected.add((canonical_uri, names[0], names[1]))
    return selected


def attribute_selection(
    attributes: str | list | None, excluded: str | list | None, schema: str
) -> AttributeSelection:
    included = parse_attribute_list(attributes, schema, "attributes")
    excluded_set = parse_attribute_list(excluded, schema, "excludedAttributes") or set()
    return AttributeSelection(
        included=frozenset(included) if included else None, excluded=frozenset(excluded_set)
    )


ALWAYS_RETURNED = {"id", "schemas"}


def apply_selection(document: dict, selection: AttributeSelection, schema: str) -> dict:
    """Trim a full resource document to what attributes= / excludedAttributes= ask for."""
    if selection.included is None and not selection.excluded:
        return document
    result: dict = {}
    for key, value in document.items():
        if key in ALWAYS_RETURNED:
            result[key] = value
            continue
        if key.startswith("urn:"):
            trimmed = _select_object(value, selection, key)
            if trimmed:
                result[key] = trimmed
            continue
        kept = _select_value(key, value, selection, schema)
        if kept is not None:
            result[key] = kept
    return result


def _select_object(value: dict, selection: AttributeSelection, uri: str) -> dict:
    if selection.included is not None and (uri, "", None) in selection.included:
        return value
    if (uri, "", None) in selection.excluded:
        return {}
    return {
        key: kept
        for key, item in value.items()
        if (kept := _select_value(key, item, selection, uri)) is not None
    }


def _select_value(key: str, value, selection: AttributeSelection, uri: str):
    if selection.included is not None:
        subs = {sub for s, n, sub in selection.included if s == uri and n == key}
        if not subs:
            return None
        if None in subs:
            return value
        return _keep_subs(value, subs)
    if (uri, key, None) in selection.excluded:
        return None
    subs = {sub for s, n, sub in selection.excluded if s == uri and n == key and sub}
    if subs:
        return _drop_subs(value, subs)
    return value


def _keep_subs(value, subs: set[str]):
    if isinstance(value, list):
        return [{k: v for k, v in item.items() if k in subs} for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in subs}
    return value


def _drop_subs(value, subs: set[str]):
    if isinstance(value, list):
        return [{k: v for k, v in item.items() if k not in subs} for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in subs}
    return value
