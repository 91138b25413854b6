"""Pieces of hand-written SQL: a model's column list, the instance built from its row with the
conversions the ORM would apply (JSON, and on SQLite UUIDs and aware datetimes), and a
condition on a list of ids. A hot query can skip the ORM's query building without changing
what callers get.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connection, models


def columns(model: type[models.Model], table_alias: str = "") -> str:
    """The model's columns, in the order :func:`from_row` expects them."""
    quote = connection.ops.quote_name
    prefix = f"{table_alias}." if table_alias else ""
    return ", ".join(prefix + quote(field.column) for field in model._meta.concrete_fields)


def from_row(model: type[models.Model], values: Sequence) -> models.Model:
    """The instance of ``model`` whose columns (see :func:`columns`) are ``values``."""
    converters = _converters(model)
    if converters:
        values = list(values)
        for index, column, functions in converters:
            for function in functions:
                values[index] = function(values[index], column, connection)
    return model.from_db(connection.alias, None, values)


@cache
def _converters(model: type[models.Model]) -> list[tuple[int, object, list]]:
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if functions:
            found.append((index, column, functions))
    return found


def one_of(ids: list[int]) -> tuple[str, list]:
    """A condition that a column is one of ``ids``, and its parameters.

    On PostgreSQL the ids are one array parameter, so the statement's text is the same however
    many there are: the driver reuses its parsed form (a page's 200 placeholders made it parse
    the statement again each time) and can prepare it. One id (a lookup, a GET) stays a plain
    equality, whose plan is better than an array's.
    """
    if len(ids) == 1:
        return "= %s", list(ids)
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)
