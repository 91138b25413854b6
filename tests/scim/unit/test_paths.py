"""PATCH paths and their value filters, table by table: no server, no database."""

from __future__ import annotations

import pytest
from django_scim.exceptions import BadRequestError

from directory.scim.paths import element_matches, equality_template, parse_patch_path

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.parametrize(
    ("text", "uri", "attribute", "sub", "filtered"),
    [
        ("userName", USER, "userName", None, False),
        ("  name.givenName ", USER, "name", "givenName", False),
        (f"{USER}:name.familyName", USER, "name", "familyName", False),
        (f"{ENTERPRISE}:department", ENTERPRISE, "department", None, False),
        (f"{ENTERPRISE}:manager.value", ENTERPRISE, "manager", "value", False),
        (ENTERPRISE, ENTERPRISE, "", None, False),
        ('emails[type eq "work"]', USER, "emails", None, True),
        ('emails[type eq "work"].value', USER, "emails", "value", True),
        ('members[value eq "0b9e1e3c-1d6e-4a4b-9a59-3f4f6a1e2d3c"]', USER, "members", None, True),
    ],
)
def test_patch_paths_parse(text, uri, attribute, sub, filtered):
    path = parse_patch_path(text, USER)
    assert (path.uri, path.attribute, path.sub_attribute) == (uri, attribute, sub)
    assert (path.value_filter is not None) is filtered


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", None, 7, "name.givenName.extra", 'emails[type eq "work"', 'emails[type zz "w"]', "emails[]",
        # the limits of list filters: 2,000 characters, 32 levels of nesting
        "emails[" + " or ".join(['type eq "w"'] * 200) + "]",
        "emails[" + "(" * 33 + 'type eq "w"' + ")" * 33 + "]",
        # numbers are JSON numbers: what JSON does not allow is a syntax error
        "emails[type eq 05]",
    ],
)
def test_invalid_patch_paths_are_invalid_path(text):
    with pytest.raises(BadRequestError) as raised:
        parse_patch_path(text, USER)
    assert raised.value.scim_type == "invalidPath"


WORK = {"type": "work", "value": "Ann@Acme.example", "primary": True}
HOME = {"type": "home", "value": "ann@home.example"}


@pytest.mark.parametrize(
    ("value_filter", "element", "matches"),
    [
        ('type eq "work"', WORK, True),
        ('type eq "WORK"', WORK, True),
        ('TYPE eq "work"', WORK, True),
        ('type eq "work"', HOME, False),
        ('type ne "work"', HOME, True),
        ('value co "acme"', WORK, True),
        ('value sw "ann@"', HOME, True),
        ('value ew ".example"', HOME, True),
        ('value gt "ann@b"', HOME, True),
        ('value lt "ann@b"', WORK, True),
        ("primary eq true", WORK, True),
        ("primary eq true", HOME, False),
        ("primary pr", HOME, False),
        ('type eq "work" and primary eq true', WORK, True),
        ('type eq "home" or type eq "work"', WORK, True),
        ('not (type eq "work")', WORK, False),
        # and binds tighter than or
        ('type eq "work" or type eq "home" and primary eq false', WORK, True),
        ('primary eq true or type eq "home" and value co "nowhere"', WORK, True),
        ('(type eq "home" or type eq "work") and primary eq true', WORK, True),
        # null: eq is absent, ne is present
        ("primary eq null", HOME, True),
        ("primary ne null", WORK, True),
        ("type eq null", WORK, False),
        # a value of another JSON type is never equal, whatever it spells
        ('type eq "true"', {"type": "true"}, True),
        ("kind eq true", {"kind": "true"}, False),
        ("primary eq true", {"primary": "true"}, False),
        ("primary ne true", {"primary": "true"}, True),
        # sub-attributes outside our schemas are not type-checked, but compared by JSON type
        ("level eq 5", {"level": 5}, True),
        ("level eq 5", {"level": "5"}, False),
        ("level gt 10", {"level": 55}, True),
        ('level eq "5"', {"level": 5}, False),
        ("flag eq true", {"flag": True}, True),
        ('flag eq "true"', {"flag": True}, False),
    ],
)
def test_value_filters_match_elements(value_filter, element, matches):
    path = parse_patch_path(f"emails[{value_filter}]", USER)
    assert element_matches(element, path.value_filter) is matches


@pytest.mark.parametrize(
    ("value_filter", "template"),
    [
        ('type eq "work"', {"type": "work"}),
        ('type eq "work" and primary eq true', {"type": "work", "primary": True}),
        ('type eq "work" or type eq "home"', None),
        ('type ne "work"', None),
        ('not (type eq "work")', None),
        # values keep the JSON type they were written as
        ('type eq "true"', {"type": "true"}),
        ('type eq "false" and primary eq false', {"type": "false", "primary": False}),
        ("type eq null", None),
    ],
)
def test_equality_templates(value_filter, template):
    path = parse_patch_path(f"emails[{value_filter}]", USER)
    assert equality_template(path.value_filter) == template


@pytest.mark.parametrize(
    ("text", "schema", "named"),
    [
        ('emails[primary eq "true"]', USER, "'emails.primary' is a boolean attribute"),
        ('emails[primary eq "true"].value', USER, "not the string \"true\""),
        ('EMAILS[PRIMARY eq "false"]', USER, "'emails.primary' is a boolean attribute"),
        ('addresses[primary eq "true"].locality', USER, "'addresses.primary' is a boolean attribute"),
        ("emails[primary gt true]", USER, "compare it with eq or ne, not 'gt'"),
        ("emails[type eq true]", USER, "'emails.type' is a string attribute"),
        ("emails[type eq 55].value", USER, "'emails.type' is a string attribute: compare it with a quoted string, not the number 55"),
        ('emails[type eq "work" and value eq 5]', USER, "'emails.value' is a string attribute"),
        ("phoneNumbers[value co null]", USER, "null goes only with eq and ne"),
        (f"{ENTERPRISE}:manager[value eq 5]", USER, "'manager.value' is a string attribute"),
        ("members[value eq 5]", GROUP, "'members.value' is a string attribute"),
        ("members[value eq true]", GROUP, "'members.value' is a string attribute"),
    ],
)
def test_value_filters_follow_the_type_rules_of_list_filters(text, schema, named):
    with pytest.raises(BadRequestError) as raised:
        parse_patch_path(text, schema)
    assert raised.value.scim_type == "invalidFilter"
    assert named in raised.value.detail


@pytest.mark.parametrize(
    "text",
    [
        "emails[primary eq true]",
        "emails[primary ne false]",
        "emails[type eq null]",
        'emails[type eq "true"].value',
        "emails[level eq 5]",  # not in the schema: no type to check against
        "urn:example:custom:User:things[level eq 5]",
    ],
)
def test_value_filters_of_the_right_type_parse(text):
    assert parse_patch_path(text, USER).value_filter is not None


def test_a_path_of_2000_characters_is_read_and_one_more_is_refused():
    path = 'emails[type eq "' + "w" * 1982 + '"]'
    assert len(path) == 2000 and parse_patch_path(path, USER).value_filter is not None
    with pytest.raises(BadRequestError) as raised:
        parse_patch_path(path.replace('"]', 'w"]'), USER)
    assert raised.value.scim_type == "invalidPath" and "longer than 2000" in raised.value.detail
