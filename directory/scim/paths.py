"""PATCH paths: ``[uri:]attribute[.sub]`` or ``attribute[filter][.sub]``, and evaluating a
path's value filter against one element of a multi-valued attribute."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django_scim.exceptions import BadRequestError
from scim2_filter_parser import ast

from directory.scim.attributes import split_attribute_path
from directory.scim.filters import (
    Literal,
    check_value_type,
    invalid_filter,
    or_of_ands,
    parse_filter_ast,
)
from directory.scim.schema import attribute_type, canonical


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
    # Read as a filter on the path's attribute, with the same lexer, limits and typed values
    # as list filters.
    tree = parse_filter_ast(
        text + ' eq ""', what="The PATCH path", shown=text, scim_type="invalidPath"
    )
    expr = tree.expr if isinstance(tree, ast.Filter) else None
    if not isinstance(expr, ast.AttrExpr) or not isinstance(expr.attr_path.attr_name, ast.Filter):
        raise BadRequestError(f"The PATCH path {text!r} is not valid.", scim_type="invalidPath")
    value_filter = expr.attr_path.attr_name
    namespace = value_filter.namespace
    uri = namespace.uri or schema
    sub = namespace.sub_attr.value if namespace.sub_attr is not None else None
    _check_types(value_filter.expr, uri, namespace.attr_name)
    return PatchPath(uri, namespace.attr_name, sub, value_filter.expr, text)


def _check_types(node: ast.AST, uri: str, attribute: str) -> None:
    """Each comparison of a value filter under the rule list filters follow: a value of
    another JSON type than its sub-attribute (``emails[primary eq "true"]``) is a 400
    invalidFilter (RFC 7644 Table 9 lists it for PATCH path filters). Sub-attributes outside
    our schemas have no known type and are not checked."""
    if isinstance(node, ast.Filter):
        _check_types(node.expr, uri, attribute)
    elif isinstance(node, ast.LogExpr):
        _check_types(node.expr1, uri, attribute)
        _check_types(node.expr2, uri, attribute)
    elif isinstance(node, ast.AttrExpr):
        name = node.attr_path.attr_name
        if not isinstance(name, str):
            raise BadRequestError("Nested value filters are not supported.", scim_type="invalidPath")
        operator = node.value.lower()
        if operator == "pr" or node.attr_path.sub_attr is not None:
            return
        try:
            names = canonical(uri, attribute, name)
        except KeyError:  # a schema we do not serve
            names = None
        scim_type = attribute_type(uri, *names) if names else None
        if scim_type is not None:
            check_value_type(f"{names[0]}.{names[1]}", scim_type, operator, node.comp_value.value)


def element_matches(element: dict, node: ast.AST) -> bool:
    """Evaluate a PATCH value filter such as ``type eq "work"`` against one element."""
    if isinstance(node, ast.Filter):
        result = element_matches(element, node.expr)
        return not result if node.negated else result
    if isinstance(node, ast.LogExpr):
        return any(
            all(element_matches(element, term) for term in terms) for terms in or_of_ands(node)
        )
    if isinstance(node, ast.AttrExpr):
        name = node.attr_path.attr_name
        if not isinstance(name, str):
            raise BadRequestError("Nested value filters are not supported.", scim_type="invalidPath")
        actual = next((v for k, v in element.items() if k.lower() == name.lower()), None)
        operator = node.value.lower()
        if operator == "pr":
            return actual not in (None, "", [])
        return _compare(operator, actual, node.comp_value.value)
    raise BadRequestError("Unsupported PATCH value filter.", scim_type="invalidPath")


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "other"


def _compare(operator: str, actual, expected: Literal) -> bool:
    """One element's value against a filter's: values of different JSON types are never equal
    (the string "true" is not true), strings compare case-insensitively as ours do, and an
    absent value compares as empty text."""
    if expected.json_type == "null":
        if operator not in ("eq", "ne"):
            raise invalid_filter(f"null goes only with eq and ne, not {operator!r}.")
        absent = actual in (None, "", [])
        return absent if operator == "eq" else not absent
    if actual is None:
        actual = ""
    same_type = _json_type(actual) == expected.json_type
    if expected.json_type == "boolean":
        right = expected == "true"
    elif expected.json_type == "number":
        right = json.loads(expected)
    else:
        right = str(expected).lower()
    left = actual.lower() if same_type and isinstance(actual, str) else actual
    if operator in ("eq", "ne"):
        equal = same_type and left == right
        return equal if operator == "eq" else not equal
    if not same_type or expected.json_type == "boolean":
        return False
    if operator in ("co", "sw", "ew"):
        if expected.json_type != "string":
            return False
        if operator == "co":
            return right in left
        return left.startswith(right) if operator == "sw" else left.endswith(right)
    comparisons = {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}
    if operator in comparisons:
        return comparisons[operator]
    raise invalid_filter(f"Unsupported operator {operator!r} in a PATCH value filter.")


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
        if value.json_type == "null":
            return None  # eq null asks for the attribute to be absent: nothing to build
        if value.json_type == "boolean":
            return {node.attr_path.attr_name: value == "true"}
        if value.json_type == "number":
            return {node.attr_path.attr_name: json.loads(value)}
        return {node.attr_path.attr_name: str(value)}
    return None
