"""A case-insensitive equality lookup that PostgreSQL can answer from an UPPER() index.

Django's built-in ``iexact`` casts the column to text first (``UPPER("col"::text)``), which does
not match the expression of our ``Upper("user_name")`` unique indexes; ``uexact`` does.
"""

from __future__ import annotations

from django.db.models import CharField, Lookup, TextField
from django.db.models.functions import Upper


class UpperExact(Lookup):
    lookup_name = "uexact"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"UPPER({lhs}) = UPPER({rhs})", [*lhs_params, *rhs_params]


for field in (CharField, TextField):
    field.register_lookup(UpperExact)
    # field__upper__gt="B": case-insensitive ordering comparisons for caseExact=false attributes.
    field.register_lookup(Upper)
