"""Checks on the values of SCIM resources, each failing as a 400 that names the attribute."""

from __future__ import annotations

from django_scim.exceptions import BadRequestError

MAX_MULTI_VALUES = 50


def invalid_value(detail: str) -> BadRequestError:
    return BadRequestError(detail, scim_type="invalidValue")


def attribute(d: dict, name: str):
    """The value of ``name`` in ``d``: SCIM attribute names are case-insensitive."""
    if name in d:
        return d[name]
    lowered = name.lower()
    return next((v for k, v in d.items() if isinstance(k, str) and k.lower() == lowered), None)


def has_attribute(d: dict, name: str) -> bool:
    lowered = name.lower()
    return any(isinstance(k, str) and k.lower() == lowered for k in d)


def string_value(value, label: str, max_length: int) -> str:
    """A string of at most ``max_length`` characters ("" for None); numbers become strings."""
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


def multi_valued(value, label: str) -> list[dict]:
    """A multi-valued attribute as a list of objects, at most MAX_MULTI_VALUES of them."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid_value(f"{label} must be a list of objects.")
    check_multi_valued_size(value, label)
    return value


def check_multi_valued_size(values: list, label: str) -> None:
    if len(values) > MAX_MULTI_VALUES:
        raise invalid_value(f"{label} can hold at most {MAX_MULTI_VALUES} values.")


def clean_multi_valued(value, label: str) -> list[dict]:
    """A multi-valued attribute of simple sub-attributes, with nulls dropped."""
    items = []
    for item in multi_valued(value, label):
        clean = {}
        for key, sub in item.items():
            if sub is None:
                continue
            if key.lower() == "primary":
                clean["primary"] = coerce_bool(sub, f"{label}.primary")
            elif isinstance(sub, bool):
                clean[key] = sub
            elif isinstance(sub, str | int | float):
                clean[key] = string_value(sub, f"{label}.{key}", 1024)
            else:
                raise invalid_value(f"{label}.{key} must be a simple value.")
        if clean:
            items.append(clean)
    return items
