"""PATCH paths and their value filters, table by table: no server, no database."""

from __future__ import annotations

import pytest
from django_scim.exceptions import BadRequestError

from directory.scim.paths import element_matches, equality_template, parse_patch_path

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
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
    ["", "   ", None, 7, "name.givenName.extra", 'emails[type eq "work"', 'emails[type zz "w"]', "emails[]"],
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
    ],
)
def test_equality_templates(value_filter, template):
    path = parse_patch_path(f"emails[{value_filter}]", USER)
    assert equality_template(path.value_filter) == template
