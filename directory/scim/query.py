"""Turn SCIM query syntax (filters, PATCH paths, attributes=, sortBy) into something we run.

Filters are parsed with scim2-filter-parser and translated here, strictly, into a Django ``Q``:
an attribute or operator we cannot answer is a 400 invalidFilter that names it, never dropped
(the library's own transpilers drop unknown attributes, which widens results).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC

from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.dateparse import parse_datetime
from django_scim.exceptions import BadRequestError
from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from directory.scim.schema import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    canonical,
)

MAX_FILTER_LENGTH = 2000


def invalid_filter(detail: str) -> BadRequestError:
    return BadRequestError(detail, scim_type="invalidFilter")


@dataclass(frozen=True)
class Field:
    """How one filterable SCIM attribute maps onto the database."""

    lookup: str
    kind: str  # "ci" (case-insensitive text), "text", "uuid", "bool", "datetime", "json_ci"
    multi: bool = False  # reached through a to-many relation: the query needs DISTINCT


USER_FIELDS: dict[tuple[str, str | None, str], Field] = {
    ("userName", None, USER_SCHEMA): Field("user_name", "ci"),
    ("externalId", None, USER_SCHEMA): Field("external_id", "text"),
    ("id", None, USER_SCHEMA): Field("scim_id", "uuid"),
    ("displayName", None, USER_SCHEMA): Field("display_name", "ci"),
    ("nickName", None, USER_SCHEMA): Field("nick_name", "ci"),
    ("title", None, USER_SCHEMA): Field("title", "ci"),
    ("userType", None, USER_SCHEMA): Field("user_type", "ci"),
    ("locale", None, USER_SCHEMA): Field("locale", "ci"),
    ("preferredLanguage", None, USER_SCHEMA): Field("preferred_language", "ci"),
    ("timezone", None, USER_SCHEMA): Field("time_zone", "ci"),
    ("active", None, USER_SCHEMA): Field("is_active", "bool"),
    ("name", "givenName", USER_SCHEMA): Field("given_name", "ci"),
    ("name", "familyName", USER_SCHEMA): Field("family_name", "ci"),
    ("name", "middleName", USER_SCHEMA): Field("middle_name", "ci"),
    ("name", "formatted", USER_SCHEMA): Field("formatted_name", "ci"),
    ("emails", None, USER_SCHEMA): Field("email_rows__value", "ci", multi=True),
    ("emails", "value", USER_SCHEMA): Field("email_rows__value", "ci", multi=True),
    ("emails", "type", USER_SCHEMA): Field("email_rows__type", "ci", multi=True),
    ("emails", "primary", USER_SCHEMA): Field("email_rows__is_primary", "bool", multi=True),
    ("groups", None, USER_SCHEMA): Field("memberships__group__scim_id", "uuid", multi=True),
    ("groups", "value", USER_SCHEMA): Field("memberships__group__scim_id", "uuid", multi=True),
    ("meta", "created", USER_SCHEMA): Field("created_at", "datetime"),
    ("meta", "lastModified", USER_SCHEMA): Field("last_modified_at", "datetime"),
    ("employeeNumber", None, ENTERPRISE_SCHEMA): Field("enterprise__employeeNumber", "json_ci"),
    ("costCenter", None, ENTERPRISE_SCHEMA): Field("enterprise__costCenter", "json_ci"),
    ("organization", None, ENTERPRISE_SCHEMA): Field("enterprise__organization", "json_ci"),
    ("division", None, ENTERPRISE_SCHEMA): Field("enterprise__division", "json_ci"),
    ("department", None, ENTERPRISE_SCHEMA): Field("enterprise__department", "json_ci"),
    ("manager", "value", ENTERPRISE_SCHEMA): Field("enterprise__manager__value", "json_ci"),
}

GROUP_FIELDS: dict[tuple[str, str | None, str], Field] = {
    ("displayName", None, GROUP_SCHEMA): Field("display_name", "ci"),
    ("externalId", None, GROUP_SCHEMA): Field("external_id", "text"),
    ("id", None, GROUP_SCHEMA): Field("scim_id", "uuid"),
    ("members", None, GROUP_SCHEMA): Field("memberships__user__scim_id", "uuid", multi=True),
    ("members", "value", GROUP_SCHEMA): Field("memberships__user__scim_id", "uuid", multi=True),
    ("meta", "created", GROUP_SCHEMA): Field("created_at", "datetime"),
    ("meta", "lastModified", GROUP_SCHEMA): Field("last_modified_at", "datetime"),
}

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

_TEXT_LOOKUPS = {
    "ci": {"eq": "uexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"},
    "json_ci": {"eq": "iexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"},
    "text": {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"},
}
_ORDER_LOOKUPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


def parse_filter_ast(text: str) -> ast.AST:
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid_filter(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    try:
        return SCIMParser().parse(SCIMLexer().tokenize(text))
    except Exception as exc:  # the parser raises bare Exceptions and SCIMParserError alike
        raise invalid_filter(f"The filter {text!r} is not valid SCIM filter syntax ({exc}).") from None


@dataclass
class CompiledFilter:
    q: Q
    needs_distinct: bool


class FilterCompiler:
    """Compile a parsed SCIM filter into a Q for one resource type."""

    def __init__(self, schema: str, fields: dict[tuple[str, str | None, str], Field]) -> None:
        self.schema = schema
        self.fields = fields
        self.needs_distinct = False

    def compile(self, text: str) -> CompiledFilter:
        tree = parse_filter_ast(text)
        q = self.visit(tree, namespace=None)
        return CompiledFilter(q=q, needs_distinct=self.needs_distinct)

    def visit(self, node: ast.AST, namespace: ast.AttrPath | None) -> Q:
        if isinstance(node, ast.Filter):
            inner_namespace = node.namespace if node.namespace is not None else namespace
            q = self.visit(node.expr, inner_namespace)
            return ~q if node.negated else q
        if isinstance(node, ast.LogExpr):
            left = self.visit(node.expr1, namespace)
            right = self.visit(node.expr2, namespace)
            return left & right if node.op.lower() == "and" else left | right
        if isinstance(node, ast.AttrExpr):
            return self.visit_comparison(node, namespace)
        raise invalid_filter(f"Unsupported filter expression {node!r}.")

    def visit_comparison(self, node: ast.AttrExpr, namespace: ast.AttrPath | None) -> Q:
        path = node.attr_path
        if isinstance(path.attr_name, ast.Filter):
            # emails[type eq "work"].value eq "x": the bracket filter AND the comparison,
            # both on the same element of the multi-valued attribute.
            value_filter = path.attr_name
            outer = value_filter.namespace
            bracket = self.visit(value_filter.expr, ast.AttrPath(outer.attr_name, None, outer.uri))
            compared = ast.AttrPath(outer.attr_name, outer.sub_attr, outer.uri)
            return bracket & self.comparison(compared, node.value, node.comp_value)
        if namespace is not None:
            path = ast.AttrPath(
                namespace.attr_name, ast.SubAttr(path.attr_name), path.uri or namespace.uri
            )
        return self.comparison(path, node.value, node.comp_value)

    def resolve(self, path: ast.AttrPath) -> tuple[Field, str]:
        schema = path.uri or self.schema
        name = path.attr_name
        sub = path.sub_attr.value if path.sub_attr is not None else None
        spelled = name + (f".{sub}" if sub else "")
        try:
            names = canonical(schema, name, sub)
        except KeyError:
            raise invalid_filter(f"Filtering on schema {schema!r} is not supported.") from None
        field = self.fields.get((*names, schema)) if names else None
        if field is None:
            raise invalid_filter(f"Filtering on attribute {spelled!r} is not supported.")
        return field, spelled

    def comparison(self, path: ast.AttrPath, operator: str, comp_value) -> Q:
        field, spelled = self.resolve(path)
        if field.multi:
            self.needs_distinct = True
        operator = operator.lower()
        if operator == "pr":
            return self.present(field)
        raw = comp_value.value if comp_value is not None else None
        if raw == "null" and operator in ("eq", "ne"):
            present = self.present(field)
            return present if operator == "ne" else ~present
        q = self.compare(field, spelled, operator, raw)
        return ~q if operator == "ne" else q

    @staticmethod
    def present(field: Field) -> Q:
        if field.kind in ("ci", "text"):
            return Q(**{f"{field.lookup}__isnull": False}) & ~Q(**{field.lookup: ""})
        return Q(**{f"{field.lookup}__isnull": False})

    def compare(self, field: Field, spelled: str, operator: str, raw: str | None) -> Q:
        kind = field.kind
        if kind in _TEXT_LOOKUPS:
            if operator in ("eq", "ne"):
                lookup = _TEXT_LOOKUPS[kind]["eq"]
            elif operator in _TEXT_LOOKUPS[kind]:
                lookup = _TEXT_LOOKUPS[kind][operator]
            elif operator in _ORDER_LOOKUPS and kind == "ci":
                return Q(**{f"{field.lookup}__upper__{_ORDER_LOOKUPS[operator]}": (raw or "").upper()})
            elif operator in _ORDER_LOOKUPS and kind == "text":
                lookup = _ORDER_LOOKUPS[operator]
            else:
                raise invalid_filter(f"Operator {operator!r} is not supported on {spelled!r}.")
            return Q(**{f"{field.lookup}__{lookup}": raw or ""})
        if kind == "bool":
            if operator not in ("eq", "ne") or raw not in ("true", "false"):
                raise invalid_filter(f"{spelled!r} is compared only with eq/ne true or false.")
            return Q(**{field.lookup: raw == "true"})
        if kind == "uuid":
            if operator not in ("eq", "ne"):
                raise invalid_filter(f"{spelled!r} supports only the eq, ne and pr operators.")
            try:
                value = uuid.UUID(str(raw))
            except ValueError:
                return Q(pk__in=[])  # not one of our ids, so nothing matches
            return Q(**{field.lookup: value})
        if kind == "datetime":
            lookup = "exact" if operator in ("eq", "ne") else _ORDER_LOOKUPS.get(operator)
            if lookup is None:
                raise invalid_filter(f"Operator {operator!r} is not supported on {spelled!r}.")
            moment = parse_datetime(str(raw)) if raw else None
            if moment is None:
                raise invalid_filter(f"{raw!r} is not an ISO 8601 date-time for {spelled!r}.")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return Q(**{f"{field.lookup}__{lookup}": moment})
        raise invalid_filter(f"Filtering on {spelled!r} is not supported.")


def compile_user_filter(text: str) -> CompiledFilter:
    return FilterCompiler(USER_SCHEMA, USER_FIELDS).compile(text)


def compile_group_filter(text: str) -> CompiledFilter:
    return FilterCompiler(GROUP_SCHEMA, GROUP_FIELDS).compile(text)


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
    items = raw if isinstance(raw, list) else str(raw).split(",")
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


CASE_INSENSITIVE_SORTS = {"user_name", "display_name", "given_name", "family_name", "title", "email"}


def sort_field(sort_by: str | None, sort_order: str | None, schema: str) -> list:
    """ORDER BY for sortBy/sortOrder; always ends with the primary key so pages are stable."""
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


# --- PATCH paths ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchPath:
    """A parsed PATCH path: ``[uri:]attribute[.sub]`` or ``attribute[filter][.sub]``."""

    uri: str
    attribute: str
    sub_attribute: str | None
    value_filter: ast.AST | None
    text: str

    def __bool__(self) -> bool:
        return True


def parse_patch_path(text: str, schema: str) -> PatchPath:
    if not isinstance(text, str) or not text.strip():
        raise BadRequestError("The PATCH path is empty.", scim_type="invalidPath")
    text = text.strip()
    if "[" not in text:
        uri, name, sub = split_attribute_path(text, schema)
        if not name and uri:
            return PatchPath(uri, "", None, None, text)
        if not name or (sub and "." in sub):
            raise BadRequestError(f"The PATCH path {text!r} is not valid.", scim_type="invalidPath")
        return PatchPath(uri, name, sub, None, text)
    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(text + ' eq ""'))
    except Exception:
        raise BadRequestError(
            f"The PATCH path {text!r} is not valid.", scim_type="invalidPath"
        ) from None
    expr = tree.expr if isinstance(tree, ast.Filter) else None
    if not isinstance(expr, ast.AttrExpr) or not isinstance(expr.attr_path.attr_name, ast.Filter):
        raise BadRequestError(f"The PATCH path {text!r} is not valid.", scim_type="invalidPath")
    value_filter = expr.attr_path.attr_name
    namespace = value_filter.namespace
    sub = namespace.sub_attr.value if namespace.sub_attr is not None else None
    return PatchPath(namespace.uri or schema, namespace.attr_name, sub, value_filter.expr, text)


def element_matches(element: dict, node: ast.AST) -> bool:
    """Evaluate a PATCH value filter such as ``type eq "work"`` against one element."""
    if isinstance(node, ast.Filter):
        result = element_matches(element, node.expr)
        return not result if node.negated else result
    if isinstance(node, ast.LogExpr):
        if node.op.lower() == "and":
            return element_matches(element, node.expr1) and element_matches(element, node.expr2)
        return element_matches(element, node.expr1) or element_matches(element, node.expr2)
    if isinstance(node, ast.AttrExpr):
        name = node.attr_path.attr_name
        if not isinstance(name, str):
            raise BadRequestError("Nested value filters are not supported.", scim_type="invalidPath")
        actual = next((v for k, v in element.items() if k.lower() == name.lower()), None)
        operator = node.value.lower()
        if operator == "pr":
            return actual not in (None, "", [])
        expected = node.comp_value.value if node.comp_value is not None else None
        if isinstance(actual, bool):
            actual = "true" if actual else "false"
        left = "" if actual is None else str(actual).lower()
        right = "" if expected is None else str(expected).lower()
        if operator == "eq":
            return left == right
        if operator == "ne":
            return left != right
        if operator == "co":
            return right in left
        if operator == "sw":
            return left.startswith(right)
        if operator == "ew":
            return left.endswith(right)
        comparisons = {
            "gt": left > right,
            "ge": left >= right,
            "lt": left < right,
            "le": left <= right,
        }
        if operator in comparisons:
            return comparisons[operator]
    raise BadRequestError("Unsupported PATCH value filter.", scim_type="invalidPath")


def equality_template(node: ast.AST) -> dict | None:
    """``type eq "work"`` -> {"type": "work"}: what a new element must carry to match."""
    if isinstance(node, ast.Filter) and not node.negated:
        return equality_template(node.expr)
    if isinstance(node, ast.LogExpr) and node.op.lower() == "and":
        left, right = equality_template(node.expr1), equality_template(node.expr2)
        return {**left, **right} if left is not None and right is not None else None
    if (
        isinstance(node, ast.AttrExpr)
        and node.value.lower() == "eq"
        and isinstance(node.attr_path.attr_name, str)
        and node.comp_value is not None
    ):
        value = node.comp_value.value
        if value in ("true", "false"):
            value = value == "true"
        return {node.attr_path.attr_name: value}
    return None

