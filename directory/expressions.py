"""Per-row aggregates as plain subqueries, evaluated only for the rows a page shows.

Neither uses GROUP BY: grouping made PostgreSQL sort (and spill to disk) the 95,000 agent rows
of a 50,000-member group before counting them.
"""

from __future__ import annotations

from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce


class _CountOf(Subquery):
    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def count_subquery(queryset: QuerySet, field: str) -> Subquery:
    """COUNT of ``queryset`` rows whose ``field`` is the outer row."""
    return _CountOf(queryset.filter(**{field: OuterRef("pk")}).order_by().values("pk"))


def sum_subquery(queryset: QuerySet, field: str, summed: str) -> Coalesce:
    """SUM of ``summed`` over ``queryset`` rows whose ``field`` is the outer row (0 for none)."""
    total = Func(F(summed), function="SUM", output_field=IntegerField())
    rows = queryset.filter(**{field: OuterRef("pk")}).order_by().values(total=total)
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)
