"""Every hand-written SQL statement of the directory, in one place.

Each earns its place over the ORM by measurement (the docstrings say what it saves) and has a
test that compares its answer with the plain ORM's on the same data
(``tests/directory/test_sql_matches_orm.py``). Callers get plain values; the models keep their
methods (``LiveUserTally.total``, ``GroupMembership.objects.add_missing`` ...) and run the
statements from here.

Ids of users and groups come in as primary keys that the caller already scoped to one account;
statements that take an account take its id. ``resources`` holds the directory's statements,
``users`` a SCIM user's one-statement reads and writes, ``keys`` the key check's and the
rate limiter's, ``base`` what they share.
"""

from directory.sql.base import (  # noqa: F401
    row_insert,
    row_update,
)
from directory.sql.keys import (  # noqa: F401
    api_keys_with_owners,
    api_keys_with_owners_counted,
    counter_hit,
)
from directory.sql.resources import (  # noqa: F401
    agents_attach,
    agents_flag_uninstall,
    estimated_row_count,
    group_member_values,
    group_members_by_scim_id,
    in_id_order,
    memberships_delete,
    memberships_insert_missing,
    scim_equal,
    scim_equal_count,
    scim_resource,
    tally_fold,
    tally_sum,
    user_email_values,
    user_emails_insert,
    user_emails_replace,
    user_group_values,
    user_name_taken,
    user_page_values,
    user_pks_by_scim_id,
)
from directory.sql.users import (  # noqa: F401
    user_create,
    user_lock_at_version,
    user_resource,
    user_update_at_version,
)
