"""SCIM filters: parse with scim2-filter-parser and translate, strictly, into a Django ``Q``.

An attribute or operator we cannot answer is a 400 invalidFilter that names it, never dropped
(the library's own transpilers drop unknown attributes, which widens results). A value that
cannot be compared with its attribute (a number or ``true`` for a string, a quoted string for
a boolean, an impossible date) is a 400 as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import and_, or_

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django_scim.exceptions import BadRequestError
from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from directory.scim.schema import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    attribute_type,
    canonical,
)

MAX_FILTER_LENGTH = 2000
# Parentheses and brackets inside one another. The tree is walked recursively, and 990 levels
# of parentheses fit in MAX_FILTER_LENGTH: past Python's recursion limit, a 500.
MAX_FILTER_NESTING = 32


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

_TEXT_LOOKUPS = {
    "ci": {"eq": "uexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"},
    "json_ci": {"eq": "iexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"},
    "text": {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"},
}
_ORDER_LOOKUPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}

# What an attribute of each SCIM type (RFC 7643 section 2.3) is compared with: the JSON type of
# the values it takes, and how to write one. A dateTime is written as a quoted string.
_VALUE_TYPES = {
    "string": ("string", "a quoted string"),
    "reference": ("string", "a quoted string"),
    "binary": ("string", "a quoted string"),
    "boolean": ("boolean", "true or false (no quotes)"),
    "dateTime": ("string", 'a quoted ISO 8601 date-time such as "2026-01-31T00:00:00Z"'),
    "integer": ("number", "a number"),
    "decimal": ("number", "a number"),
}


def check_value_type(spelled: str, scim_type: str, operator: str, value: Literal) -> None:
    """The one rule for what an attribute may be compared with, in list filters and in PATCH
    path filters alike: a value of the attribute's JSON type (``userName gt 5`` compares a
    string with a number, and answering it as text would hide the client's mistake), null
    only with eq and ne, and a boolean only with eq and ne (RFC 7644 3.4.2.2)."""
    json_type, written = _VALUE_TYPES[scim_type]
    if value.json_type == "null" and operator in ("eq", "ne"):
        return
    if value.json_type != json_type:
        if value.json_type == "null":
            sent = f"null with {operator!r} (null goes only with eq and ne)"
        elif value.json_type == "string":
            sent = f'the string "{value}"'
        else:
            sent = f"the {value.json_type} {value}"
        raise invalid_filter(
            f"{spelled!r} is a {scim_type} attribute: compare it with {written}, not {sent}."
        )
    if scim_type == "boolean" and operator not in ("eq", "ne"):
        raise invalid_filter(
            f"{spelled!r} is a boolean attribute: compare it with eq or ne, not {operator!r}."
        )


class Literal(str):
    """A filter's comparison value with the JSON type it was written as.

    The parser keeps only the text of a value, so ``"true"`` and ``true``, or ``"5"`` and
    ``5``, would look alike; the type is what says whether the value fits its attribute.
    """

    json_type: str  # "string", "number", "boolean" or "null"

    def __new__(cls, text: str, json_type: str) -> Literal:
        literal = super().__new__(cls, text)
        literal.json_type = json_type
        return literal


# The lexer's token for each kind of comparison value (RFC 7644 3.4.2.2 compValue).
_LITERAL_TOKENS = {
    "COMP_VALUE": "string",
    "NUMBER": "number",
    "TRUE": "boolean",
    "FALSE": "boolean",
    "NULL": "null",
}


class FilterLexer(SCIMLexer):
    """scim2-filter-parser's lexer, reading a number as one token.

    Its NUMBER is a single digit, so ``userName gt 55`` was two numbers in a row, a syntax
    error, where ``userName gt 5`` got the message that says a string is compared with a
    number. A compValue number is a JSON number (RFC 7644 3.4.2.2, RFC 8259 section 6): an
    optional minus, an integer without leading zeros, an optional fraction and exponent.
    """

    tokens = SCIMLexer.tokens
    NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"


class _TooDeep(Exception):
    pass


def _typed_values(tokens: Iterator) -> Iterator:
    """The tokens, each comparison value a ``Literal``; too deep a nesting is refused."""
    depth = 0
    for token in tokens:
        json_type = _LITERAL_TOKENS.get(token.type)
        if json_type is not None:
            token.value = Literal(token.value, json_type)
        elif token.type in ("LPAREN", "LBRACKET"):
            depth += 1
            if depth > MAX_FILTER_NESTING:
                raise _TooDeep
        elif token.type in ("RPAREN", "RBRACKET"):
            depth -= 1
        yield token


def parse_filter_ast(
    text: str, *, what: str = "The filter", shown: str | None = None, scim_type: str = "invalidFilter"
) -> ast.AST:
    """The filter's tree, each comparison value a ``Literal`` carrying its JSON type.

    PATCH paths are read here too: ``what`` names the text in errors, ``shown`` is the text the
    client sent, and ``scim_type`` is the errors' scimType.
    """
    shown = text if shown is None else shown
    if len(shown) > MAX_FILTER_LENGTH:
        raise BadRequestError(f"{what} is longer than {MAX_FILTER_LENGTH} characters.", scim_type=scim_type)
    try:
        return SCIMParser().parse(_typed_values(FilterLexer().tokenize(text)))
    except _TooDeep:
        detail = f"{what} nests parentheses or brackets more than {MAX_FILTER_NESTING} deep."
    except Exception as exc:  # the parser raises bare Exceptions and SCIMParserError alike
        detail = f"{what} {shown!r} is not valid SCIM filter syntax ({exc})."
    raise BadRequestError(detail, scim_type=scim_type)


def or_of_ands(node: ast.LogExpr) -> list[list[ast.AST]]:
    """A chain of ``and``/``or`` as the ``or`` of ``and`` groups, so ``and`` binds tighter.

    scim2-filter-parser gives ``and`` and ``or`` the same precedence, so it reads
    ``a or b and c`` as ``(a or b) and c``; RFC 7644 3.4.2.2 reads it as ``a or (b and c)``.
    In its tree a parenthesised group is a ``Filter`` around a ``Filter``, while a link of an
    unbracketed chain is a single ``Filter`` around a ``LogExpr``: the chain is flattened
    through the latter only, and regrouped.
    """
    operands, operators = _chain(node)
    groups = [[operands[0]]]
    for op, operand in zip(operators, operands[1:], strict=True):
        if op == "and":
            groups[-1].append(operand)
        else:
            groups.append([operand])
    return groups


def _chain(node: ast.LogExpr) -> tuple[list[ast.AST], list[str]]:
    operands: list[ast.AST] = []
    operators: list[str] = []
    for index, side in enumerate((node.expr1, node.expr2)):
        if index:
            operators.append(node.op.lower())
        linked = isinstance(side, ast.Filter) and not side.negated and side.namespace is None
        if linked and isinstance(side.expr, ast.LogExpr):
            inner_operands, inner_operators = _chain(side.expr)
            operands += inner_operands
            operators += inner_operators
        else:
            operands.append(side)
    return operands, operators


@dataclass(frozen=True)
class Equality:
    """A filter that is one ``attribute eq "text"`` on a column of the resource's own row:
    Okta's and Entra's lookup before every create. ``ignore_case`` as the attribute's
    caseExact says."""

    column: str
    value: str
    ignore_case: bool


@dataclass
class CompiledFilter:
    q: Q
    needs_distinct: bool
    equality: Equality | None = None


class FilterCompiler:
    """Compile a parsed SCIM filter into a Q for one resource type."""

    def __init__(self, schema: str, fields: dict[tuple[str, str | None, str], Field]) -> None:
        self.schema = schema
        self.fields = fields
        self.needs_distinct = False

    def compile(self, text: str) -> CompiledFilter:
        tree = parse_filter_ast(text)
        q = self.visit(tree, namespace=None)
        return CompiledFilter(q=q, needs_distinct=self.needs_distinct, equality=self.equality(tree))

    def equality(self, tree: ast.AST) -> Equality | None:
        single = isinstance(tree, ast.Filter) and not tree.negated and tree.namespace is None
        node = tree.expr if single else None
        if not isinstance(node, ast.AttrExpr) or node.value.lower() != "eq":
            return None
        if isinstance(node.attr_path.attr_name, ast.Filter) or node.comp_value is None:
            return None
        field, _, _ = self.resolve(node.attr_path)
        value = node.comp_value.value
        if field.multi or field.kind not in ("ci", "text") or value.json_type != "string":
            return None
        return Equality(field.lookup, str(value), ignore_case=field.kind == "ci")

    def visit(self, node: ast.AST, namespace: ast.AttrPath | None) -> Q:
        if isinstance(node, ast.Filter):
            inner_namespace = node.namespace if node.namespace is not None else namespace
            q = self.visit(node.expr, inner_namespace)
            return ~q if node.negated else q
        if isinstance(node, ast.LogExpr):
            return reduce(
                or_,
                (
                    reduce(and_, (self.visit(term, namespace) for term in terms))
                    for terms in or_of_ands(node)
                ),
            )
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

    def resolve(self, path: ast.AttrPath) -> tuple[Field, str, str]:
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
        return field, spelled, attribute_type(schema, *names)

    def comparison(self, path: ast.AttrPath, operator: str, comp_value) -> Q:
        field, spelled, scim_type = self.resolve(path)
        if field.multi:
            self.needs_distinct = True
        operator = operator.lower()
        if operator == "pr":
            return self.present(field)
        value = comp_value.value  # only pr comes without a value
        check_value_type(spelled, scim_type, operator, value)
        if value.json_type == "null":  # eq or ne
            present = self.present(field)
            return present if operator == "ne" else ~present
        q = self.compare(field, spelled, operator, str(value))
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
        if kind == "bool":  # check_value_type let through only eq or ne, true or false
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
            return Q(**{f"{field.lookup}__{lookup}": parse_moment(raw, spelled)})
        raise invalid_filter(f"Filtering on {spelled!r} is not supported.")


def parse_moment(raw: str | None, spelled: str) -> datetime:
    """A filter's date-time in UTC, or a 400 for one that does not exist.

    Django's parser answers None for text that is not shaped like a date-time but raises for
    one that is shaped like it and impossible (February 30th, hour 24, an offset of +25:00,
    year 0); an offset can also push a moment past the last year Python counts (9999).
    """
    try:
        moment = parse_datetime(str(raw)) if raw else None
        if moment is not None:
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise invalid_filter(f"{raw!r} is not an ISO 8601 date-time for {spelled!r}.")
    return moment


def compile_user_filter(text: str) -> CompiledFilter:
    return FilterCompiler(USER_SCHEMA, USER_FIELDS).compile(text)


def compile_group_filter(text: str) -> CompiledFilter:
    return FilterCompiler(GROUP_SCHEMA, GROUP_FIELDS).compile(text)
