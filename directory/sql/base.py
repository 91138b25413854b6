"""What every hand-written statement shares: running it, model instances from its rows, whole
rows written as ``Model.save()`` writes them, and the few vendor differences."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


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


# --- rows written without the ORM's compiler -------------------------------------------------
# A SCIM write saves one user and one event: Model.save() compiled each statement afresh, which
# was 40% of a PUT's Python. These write the same columns with the same values (each field's
# own ``pre_save`` and ``get_db_prep_save``), from statements built once per model.


def row_insert(obj: models.Model, *, with_id: bool = True) -> None:
    """INSERT the new ``obj`` with every column and give it its id, as ``obj.save()`` would;
    ``with_id=False`` leaves the id unread (an event's: nothing reads it back)."""
    db = database()
    sql, fields = _insert_sql(type(obj))
    params = saved_values(obj, fields, adding=True)
    with db.cursor() as cursor:
        if with_id:
            cursor.execute(sql, params)
            returned = db.features.can_return_columns_from_insert
            obj.pk = cursor.fetchone()[0] if returned else cursor.lastrowid
        else:
            cursor.execute(sql.removesuffix(" RETURNING id"), params)
    obj._state.adding = False
    obj._state.db = db.alias


def row_update(obj: models.Model, field_names: tuple[str, ...]) -> int:
    """UPDATE ``obj``'s row with the values of ``field_names``, as ``obj.save(update_fields=...)``
    would; returns the rows updated (0 when the row is gone)."""
    db = database()
    sql, fields = update_sql(type(obj), field_names)
    params = saved_values(obj, fields, adding=False)
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])
        return cursor.rowcount


def saved_values(obj: models.Model, fields: Sequence[models.Field], *, adding: bool) -> list:
    """What ``obj.save()`` would store in ``fields``: each field's ``pre_save`` (an insert when
    ``adding``) and ``get_db_prep_save``."""
    db = database()
    return [field.get_db_prep_save(field.pre_save(obj, adding), db) for field in fields]


@cache
def _insert_sql(model: type[models.Model]) -> tuple[str, list[models.Field]]:
    head, fields = insert_head(model)
    returning = " RETURNING id" if connection.features.can_return_columns_from_insert else ""
    return f"{head} VALUES ({', '.join(['%s'] * len(fields))}){returning}", fields


@cache
def insert_head(model: type[models.Model]) -> tuple[str, list[models.Field]]:
    """``INSERT INTO table (columns)`` for every column but the id, and those columns' fields."""
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})",
        fields,
    )


@cache
def update_sql(
    model: type[models.Model], field_names: tuple[str, ...]
) -> tuple[str, list[models.Field]]:
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in field_names]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE id = %s", fields


@cache
def columns(model: type[models.Model], table_alias: str = "") -> str:
    """The model's columns, in the order :func:`_from_row` expects them."""
    quote = connection.ops.quote_name
    prefix = f"{table_alias}." if table_alias else ""
    return ", ".join(prefix + quote(field.column) for field in model._meta.concrete_fields)


def from_row(model: type[models.Model], values: Sequence) -> models.Model:
    """The instance of ``model`` whose columns are ``values``, with the conversions the ORM
    would apply (JSON, and on SQLite UUIDs and aware datetimes)."""
    converters = _converters(model)
    if converters:
        db = database()
        values = list(values)
        for index, column, functions in converters:
            for function in functions:
                values[index] = function(values[index], column, db)
    return model.from_db(DEFAULT_DB_ALIAS, None, values)


@cache
def _converters(model: type[models.Model]) -> list[tuple[int, object, list]]:
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if functions:
            found.append((index, column, functions))
    return found


def database():
    """The worker's connection itself: each attribute read through Django's thread-local proxy
    (``django.db.connection``) is a lookup, and writing one row's fields read dozens."""
    return connections[DEFAULT_DB_ALIAS]


def fetch(sql: str, params: list) -> list[tuple]:
    with database().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def uuid_text(column: str) -> str:
    """A UUID column as canonical text (8-4-4-4-12), printed by the database itself; SQLite
    stores 32 hex digits without dashes."""
    if connection.vendor == "postgresql":
        return f"{column}::text"
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    pieces = " || '-' || ".join(f"substr({column}, {start}, {length})" for start, length in parts)
    return f"lower({pieces})"
