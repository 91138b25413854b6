"""SCIM filters parsed and compiled into a Q, table by table: no server, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import Q
from django_scim.exceptions import BadRequestError

from directory.scim.filters import (
    GROUP_FIELDS,
    USER_FIELDS,
    FilterLexer,
    compile_group_filter,
    compile_user_filter,
)
from directory.scim.schema import attribute_type

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PRESENT_TITLE = Q(title__isnull=False) & ~Q(title="")
A, B, C = Q(title__uexact="a"), Q(title__uexact="b"), Q(title__uexact="c")
MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected", "distinct"),
    [
        # every operator on case-insensitive text
        ('userName eq "Ann"', Q(user_name__uexact="Ann"), False),
        ('userName ne "Ann"', ~Q(user_name__uexact="Ann"), False),
        ('userName co "nn"', Q(user_name__icontains="nn"), False),
        ('userName sw "A"', Q(user_name__istartswith="A"), False),
        ('userName ew "n"', Q(user_name__iendswith="n"), False),
        ('userName gt "b"', Q(user_name__upper__gt="B"), False),
        ('userName ge "b"', Q(user_name__upper__gte="B"), False),
        ('userName lt "b"', Q(user_name__upper__lt="B"), False),
        ('userName le "b"', Q(user_name__upper__lte="B"), False),
        ("title pr", PRESENT_TITLE, False),
        ("title eq null", ~PRESENT_TITLE, False),
        ("title ne null", PRESENT_TITLE, False),
        # case-sensitive text
        ('externalId eq "X1"', Q(external_id__exact="X1"), False),
        ('externalId co "X"', Q(external_id__contains="X"), False),
        ('externalId gt "X"', Q(external_id__gt="X"), False),
        # typed attributes
        ("active eq true", Q(is_active=True), False),
        ("active eq false", Q(is_active=False), False),
        # a quoted value is a string, whatever it spells; only a bare null is null
        ('userName eq "null"', Q(user_name__uexact="null"), False),
        ('userName eq "5"', Q(user_name__uexact="5"), False),
        ('userName eq "true"', Q(user_name__uexact="true"), False),
        ("meta.lastModified eq null", ~Q(last_modified_at__isnull=False), False),
        ("active ne false", ~Q(is_active=False), False),
        ('id eq "not-a-uuid"', Q(pk__in=[]), False),
        (
            'id eq "0b9e1e3c-1d6e-4a4b-9a59-3f4f6a1e2d3c"',
            Q(scim_id=__import__("uuid").UUID("0b9e1e3c-1d6e-4a4b-9a59-3f4f6a1e2d3c")),
            False,
        ),
        ('meta.created eq "2026-01-02T03:04:05Z"', Q(created_at__exact=MOMENT), False),
        ('meta.created gt "2026-01-02T04:04:05+01:00"', Q(created_at__gt=MOMENT), False),
        ('meta.lastModified le "2026-01-02T03:04:05"', Q(last_modified_at__lte=MOMENT), False),
        # names are case-insensitive; schema URNs qualify them
        ('USERNAME eq "a"', Q(user_name__uexact="a"), False),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"', Q(user_name__uexact="a"), False),
        (f'{ENTERPRISE}:department eq "R&D"', Q(enterprise__department__iexact="R&D"), False),
        (f'{ENTERPRISE}:manager.value eq "m"', Q(enterprise__manager__value__iexact="m"), False),
        # to-many attributes need DISTINCT
        ('emails eq "a@x"', Q(email_rows__value__uexact="a@x"), True),
        ('emails.type eq "work"', Q(email_rows__type__uexact="work"), True),
        ("emails.primary eq true", Q(email_rows__is_primary=True), True),
        # logic and precedence (RFC 7644 3.4.2.2: not, then and, then or)
        ('title eq "a" and title eq "b"', A & B, False),
        ('title eq "a" or title eq "b"', A | B, False),
        ('not (title eq "a")', ~A, False),
        ('title eq "a" or title eq "b" and title eq "c"', A | (B & C), False),
        ('title eq "a" and title eq "b" or title eq "c"', (A & B) | C, False),
        ('(title eq "a" or title eq "b") and title eq "c"', (A | B) & C, False),
        ('title eq "a" or not (title eq "b") and title eq "c"', A | (~B & C), False),
        ('title eq "a" or title eq "b" or title eq "c"', A | B | C, False),
        ("(" * 32 + 'title eq "a"' + ")" * 32, A, False),
        # value paths: the bracket and the comparison on the same element
        (
            'emails[type eq "work" and value co "ann"]',
            Q(email_rows__type__uexact="work") & Q(email_rows__value__icontains="ann"),
            True,
        ),
        (
            'emails[type eq "work"].value eq "a@x"',
            Q(email_rows__type__uexact="work") & Q(email_rows__value__uexact="a@x"),
            True,
        ),
    ],
)
def test_user_filters_compile(text, expected, distinct):
    compiled = compile_user_filter(text)
    assert compiled.q == expected
    assert compiled.needs_distinct is distinct


@pytest.mark.parametrize(
    ("text", "expected", "distinct"),
    [
        ('displayName eq "Sales"', Q(display_name__uexact="Sales"), False),
        ('externalId eq "g1"', Q(external_id__exact="g1"), False),
        ('members eq "not-a-uuid"', Q(pk__in=[]), True),
        ("meta.created pr", Q(created_at__isnull=False), False),
    ],
)
def test_group_filters_compile(text, expected, distinct):
    compiled = compile_group_filter(text)
    assert compiled.q == expected
    assert compiled.needs_distinct is distinct


@pytest.mark.parametrize(
    ("text", "named"),
    [
        # syntax
        ('userName zz "x"', "syntax"),
        ('userName eq "x" and (', "syntax"),
        ("", "syntax"),
        ("x" * 2001, "longer than"),
        ("(" * 33 + "title pr" + ")" * 33, "more than 32 deep"),
        ("(" * 990 + "title pr" + ")" * 990, "more than 32 deep"),
        ("emails[" + "(" * 32 + 'type eq "w"' + ")" * 32 + "]", "more than 32 deep"),
        ("not (" * 33 + "title pr" + ")" * 33, "more than 32 deep"),
        # unknown attributes and schemas
        ('nickName2 eq "x"', "nickName2"),
        ('password eq "x"', "password"),
        ('urn:example:custom:User:color eq "red"', "urn:example:custom:User"),
        ('members eq "x"', "members"),
        # operators an attribute does not support
        ("active gt true", "active"),
        ('id co "1"', "id"),
        ('meta.created co "2026"', "meta.created"),
        (f'{ENTERPRISE}:department gt "a"', "department"),
        # values that cannot be compared with the attribute
        ("active eq 1", "active"),
        ('active eq "yes"', "active"),
        ('emails.primary eq "maybe"', "emails.primary"),
        ('meta.created gt "yesterday"', "yesterday"),
        ('meta.created eq "2026-02-30T00:00:00Z"', "2026-02-30"),
        ('meta.created eq "2026-04-31T00:00:00Z"', "2026-04-31"),
        ('meta.created eq "2026-01-01T24:00:00Z"', "ISO 8601"),
        ('meta.created eq "2026-01-01T00:60:00Z"', "ISO 8601"),
        ('meta.created eq "2026-01-01T00:00:00+25:00"', "+25:00"),
        ('meta.created eq "2026-01-01T00:00:00-24:00"', "-24:00"),
        ('meta.created eq "0000-01-01T00:00:00Z"', "0000"),
        ('meta.created eq "10000-01-01T00:00:00Z"', "10000"),
        ('meta.created lt "9999-12-31T23:59:59-01:00"', "9999"),
        ('meta.created lt "0001-01-01T00:00:00+01:00"', "0001"),
        ('meta.lastModified eq ""', "ISO 8601"),
        ("meta.lastModified eq 2026", "'meta.lastModified' is a dateTime attribute"),
        # numbers are JSON numbers, read whole; what JSON does not allow is a syntax error
        ("userName gt 55", "'userName' is a string attribute: compare it with a quoted string, not the number 55"),
        ("userName eq 123456789012345678901234567890", "not the number 123456789012345678901234567890"),
        ("userName eq -7", "not the number -7"),
        ("userName eq 0.25", "not the number 0.25"),
        ("userName eq -1.5e+3", "not the number -1.5e+3"),
        ("userName eq 2E10", "not the number 2E10"),
        ("active eq 10", "'active' is a boolean attribute"),
        ("meta.created gt 1.5", "'meta.created' is a dateTime attribute"),
        ('emails[type eq 55].value eq "a@x"', "'emails.type' is a string attribute"),
        ("userName eq 05", "syntax"),
        ("userName eq 1.", "syntax"),
        ("userName eq .5", "syntax"),
        ("userName eq 1e", "syntax"),
        ("userName eq +1", "syntax"),
        ("userName eq 5abc", "syntax"),
        # values of another type than the attribute's: the attribute and its type are named
        ("userName gt 5", "'userName' is a string attribute"),
        ("userName eq 5", "'userName' is a string attribute"),
        ("userName eq true", "'userName' is a string attribute"),
        ("userName co null", "'userName' is a string attribute"),
        ("externalId eq 1", "'externalId' is a string attribute"),
        ("id eq 5", "'id' is a string attribute"),
        ("groups.value eq true", "'groups.value' is a string attribute"),
        (f"{ENTERPRISE}:department eq 5", "'department' is a string attribute"),
        ('emails[type eq 5].value eq "a@x"', "'emails.type' is a string attribute"),
        ('emails[type eq "work"].value eq 1', "'emails.value' is a string attribute"),
        ('active eq "yes"', "'active' is a boolean attribute"),
        ('active eq "true"', "'active' is a boolean attribute"),
        ('emails.primary eq "true"', "'emails.primary' is a boolean attribute"),
        ("meta.lastModified gt true", "'meta.lastModified' is a dateTime attribute"),
        ("meta.created lt 5", "'meta.created' is a dateTime attribute"),
    ],
)
def test_filters_we_cannot_answer_are_invalid_filter_naming_the_problem(text, named):
    assert_invalid_filter(compile_user_filter, text, named)


def assert_invalid_filter(compile, text: str, named: str) -> None:
    with pytest.raises(BadRequestError) as raised:
        compile(text)
    assert raised.value.scim_type == "invalidFilter"
    assert raised.value.status == 400
    assert named in raised.value.detail


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("displayName eq 1", "'displayName' is a string attribute"),
        ("externalId eq true", "'externalId' is a string attribute"),
        ("members.value eq 5", "'members.value' is a string attribute"),
        ("meta.created gt false", "'meta.created' is a dateTime attribute"),
    ],
)
def test_group_filters_comparing_across_types_are_invalid_filter(text, named):
    assert_invalid_filter(compile_group_filter, text, named)


@pytest.mark.parametrize(("text", "expected"), [
    ('userName eq "Ada@Example.com"', ("user_name", "Ada@Example.com", True)),
    ('USERNAME EQ "a"', ("user_name", "a", True)),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"', ("user_name", "a", True)),
    ('externalId eq "Ext-1"', ("external_id", "Ext-1", False)),
    ('userName eq "a" and active eq true', None),
    ('not (userName eq "a")', None),
    ('(userName eq "a")', None),
    ('userName co "a"', None),
    ('userName eq null', None),
    ('emails.value eq "a"', None),
    ('emails[type eq "work"].value eq "a"', None),
    ('id eq "2819c223-7f76-453a-919d-413861904646"', None),
    ('active eq true', None),
])
def test_a_single_eq_on_a_column_is_an_equality(text, expected):
    """The lookups Okta and Entra send before creating are read by one statement; anything
    else goes through the general filter."""
    equality = compile_user_filter(text).equality
    assert (equality and (equality.column, equality.value, equality.ignore_case)) == expected


def test_a_group_displayname_eq_is_an_equality():
    equality = compile_group_filter('displayName eq "Engineering"').equality
    assert (equality.column, equality.value, equality.ignore_case) == ("display_name", "Engineering", True)


@pytest.mark.parametrize("number", ["0", "-0", "5", "55", "-7", "0.25", "-1.5e+3", "2E10", "1e-2", "123456789012345678901234567890"])
def test_a_json_number_is_one_token(number):
    tokens = [(token.type, token.value) for token in FilterLexer().tokenize(f"userName eq {number}")]
    assert tokens[-1] == ("NUMBER", number) and len(tokens) == 3


KIND_TYPES = {"ci": "string", "json_ci": "string", "text": "string", "uuid": "string", "bool": "boolean", "datetime": "dateTime"}


@pytest.mark.parametrize(("key", "field"), [*USER_FIELDS.items(), *GROUP_FIELDS.items()], ids=str)
def test_every_filterable_attribute_has_the_type_the_schemas_give_it(key, field):
    """The type check reads the schema's type; the lookups read the field's kind: they agree."""
    name, sub, schema = key
    assert attribute_type(schema, name, sub) == KIND_TYPES[field.kind]
