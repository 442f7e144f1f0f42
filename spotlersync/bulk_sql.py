"""Writing many rows in one PostgreSQL statement that sends each column once.

Django's `bulk_create` and `bulk_update` send every column of every row: for a batch of 1,000
contacts, half a megabyte of SQL that Django prepares value by value. These send one array per
column whose values differ from row to row (`UNNEST`), and each value the rows share once. They
are for PostgreSQL; callers keep Django's bulk methods for SQLite.
"""

from typing import Any

from django.db import models, transaction


def insert_rows(
    model: type[models.Model],
    *,
    columns: dict[str, list[Any]],
    same: dict[str, Any],
    returning: tuple[str, ...] = (),
) -> list[tuple]:
    """INSERT one row per index of `columns` (field name: its values); `same`: field name:
    the value every row gets. The rows' `returning` columns (field names), in no set order."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    varying, shared, params = _prepared(model, columns=columns, same=same)
    names = ", ".join(quote(f.column) for f in [*varying, *shared])
    select = [f"u.c{i}" for i in range(len(varying))]
    select += [f"%s::{f.db_type(connection)}" for f in shared]
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({names}) "  # noqa: S608 (model names)
        f"SELECT {', '.join(select)} FROM {_unnest(varying, connection)}"
    )
    if returning:
        fields = [model._meta.get_field(name) for name in returning]
        sql += f" RETURNING {', '.join(quote(f.column) for f in fields)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def update_rows(
    model: type[models.Model], *, columns: dict[str, list[Any]], same: dict[str, Any]
) -> None:
    """UPDATE the rows whose primary keys `columns["pk"]` lists with the values beside them;
    `same`: field name: the value every row gets."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    columns = {model._meta.pk.name: columns.pop("pk"), **columns}
    varying, shared, params = _prepared(model, columns=columns, same=same)
    assignments = [f"{quote(f.column)} = u.c{i}" for i, f in enumerate(varying) if i]
    assignments += [f"{quote(f.column)} = %s::{f.db_type(connection)}" for f in shared]
    table = quote(model._meta.db_table)
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 (model names)
        f"FROM {_unnest(varying, connection)} WHERE {table}.{quote(varying[0].column)} = u.c0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _prepared(
    model: type[models.Model], *, columns: dict[str, list[Any]], same: dict[str, Any]
) -> tuple[list[models.Field], list[models.Field], list[Any]]:
    """The fields that vary, those that do not, and the parameters: shared values first (they
    come first in the SQL), then one list per varying column."""
    connection = transaction.get_connection()
    varying = [model._meta.get_field(name) for name in columns]
    shared = [model._meta.get_field(name) for name in same]
    params = [
        f.get_db_prep_save(value, connection)
        for f, value in zip(shared, same.values(), strict=True)
    ]
    params += [
        [f.get_db_prep_save(value, connection) for value in values]
        for f, values in zip(varying, columns.values(), strict=True)
    ]
    return varying, shared, params


def _unnest(fields: list[models.Field], connection: Any) -> str:
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    names = ", ".join(f"c{i}" for i in range(len(fields)))
    return f"UNNEST({arrays}) AS u({names})"
