"""PATCH paths: ``[uri:]attribute[.sub]`` or ``attribute[filter][.sub]``, and evaluating a
path's value filter against one element of a multi-valued attribute."""

from __future__ import annotations

from dataclasses import dataclass

from django_scim.exceptions import BadRequestError
from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from directory.scim.attributes import split_attribute_path
from directory.scim.filters import or_of_ands


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
