"""What our SCIM resources contain: canonical attribute names, and the discovery documents.

SCIM attribute names are case-insensitive (RFC 7643 §2.1); everything that reads a name from a
client (filters, PATCH paths, attributes=, sortBy) resolves it through ``canonical`` here.
"""

from __future__ import annotations

import copy

from django.conf import settings
from django_scim.constants import SchemaURI
from django_scim.schemas import ALL as LIBRARY_SCHEMAS

USER_SCHEMA = SchemaURI.USER
GROUP_SCHEMA = SchemaURI.GROUP
ENTERPRISE_SCHEMA = SchemaURI.ENTERPRISE_USER
LIST_RESPONSE = SchemaURI.LIST_RESPONSE
ERROR_SCHEMA = SchemaURI.ERROR
PATCH_OP = SchemaURI.PATCH_OP
SEARCH_REQUEST = SchemaURI.SERACH_REQUEST

MULTI_VALUED_SUB = ("value", "display", "type", "primary")

# attribute -> sub-attributes (empty tuple: a simple attribute)
USER_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "id": (),
    "externalId": (),
    "userName": (),
    "name": (
        "formatted",
        "familyName",
        "givenName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
    ),
    "displayName": (),
    "nickName": (),
    "profileUrl": (),
    "title": (),
    "userType": (),
    "preferredLanguage": (),
    "locale": (),
    "timezone": (),
    "active": (),
    "password": (),
    "emails": MULTI_VALUED_SUB,
    "phoneNumbers": MULTI_VALUED_SUB,
    "ims": MULTI_VALUED_SUB,
    "photos": MULTI_VALUED_SUB,
    "addresses": (
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "type",
        "primary",
    ),
    "groups": ("value", "$ref", "display", "type"),
    "entitlements": MULTI_VALUED_SUB,
    "roles": MULTI_VALUED_SUB,
    "x509Certificates": MULTI_VALUED_SUB,
    "meta": ("resourceType", "created", "lastModified", "location", "version"),
}
ENTERPRISE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "employeeNumber": (),
    "costCenter": (),
    "organization": (),
    "division": (),
    "department": (),
    "manager": ("value", "$ref", "displayName"),
}
GROUP_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "id": (),
    "externalId": (),
    "displayName": (),
    "members": ("value", "$ref", "display", "type"),
    "meta": ("resourceType", "created", "lastModified", "location", "version"),
}

USER_MULTI_VALUED = {
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
}
# Multi-valued attributes kept as they were sent, in DirectoryUser.other_attributes.
USER_OTHER_MULTI_VALUED = ("ims", "photos", "entitlements", "roles", "x509Certificates")
READ_ONLY = {"id", "meta", "groups"}

_SCHEMA_ATTRIBUTES = {
    USER_SCHEMA.lower(): USER_ATTRIBUTES,
    ENTERPRISE_SCHEMA.lower(): ENTERPRISE_ATTRIBUTES,
    GROUP_SCHEMA.lower(): GROUP_ATTRIBUTES,
}


def _lower_index(names) -> dict[str, str]:
    return {name.lower(): name for name in names}


_INDEX = {
    uri: (
        _lower_index(attrs),
        {name.lower(): _lower_index(subs) for name, subs in attrs.items()},
    )
    for uri, attrs in _SCHEMA_ATTRIBUTES.items()
}


def canonical(
    schema: str, attribute: str, sub_attribute: str | None = None
) -> tuple[str, str | None] | None:
    """Return the canonical (attribute, sub-attribute) spelling, or None if unknown."""
    names, subs = _INDEX[schema.lower()]
    name = names.get(attribute.lower())
    if name is None:
        return None
    if sub_attribute is None:
        return name, None
    sub = subs[name.lower()].get(sub_attribute.lower())
    if sub is None:
        return None
    return name, sub


def service_provider_config(base_url: str) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": f"{base_url}/",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": settings.SCIM_MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer API key",
                "description": (
                    "Send the API key from APIs & Integrations > Integrations as "
                    "'Authorization: Bearer <key>'."
                ),
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def resource_types(base_url: str) -> list[dict]:
    def resource_type(id_: str, endpoint: str, schema: str, extensions: list[dict]) -> dict:
        document = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": id_,
            "name": id_,
            "endpoint": endpoint,
            "description": f"{id_} Account" if id_ == "User" else id_,
            "schema": schema,
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{id_}"},
        }
        if extensions:
            document["schemaExtensions"] = extensions
        return document

    return [
        resource_type(
            "User", "/Users", USER_SCHEMA, [{"schema": ENTERPRISE_SCHEMA, "required": False}]
        ),
        resource_type("Group", "/Groups", GROUP_SCHEMA, []),
    ]


_SERVED_SCHEMAS = {USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA}

_MEMBER_DISPLAY = {
    "name": "display",
    "type": "string",
    "multiValued": False,
    "description": "A human-readable name for the member, as the client sent it.",
    "required": False,
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}


def _attribute(document: dict, name: str) -> dict:
    return next(a for a in document["attributes"] if a["name"] == name)


def _as_served(schema: dict) -> dict:
    """The library's copy of the RFC 7643 schema, corrected to what this server does."""
    document = copy.deepcopy(schema)
    document["schemas"] = ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    if document["id"] == GROUP_SCHEMA:
        # RFC 7643 says displayName is REQUIRED in prose; the schema table says otherwise.
        _attribute(document, "displayName")["required"] = True
        members = _attribute(document, "members")
        if not any(sub["name"] == "display" for sub in members["subAttributes"]):
            members["subAttributes"].append(dict(_MEMBER_DISPLAY))
    if document["id"] == USER_SCHEMA:
        # Every user is active or not; "active" can be set but never left unassigned.
        _attribute(document, "active")["required"] = True
        _attribute(document, "userName")["uniqueness"] = "server"
    return document


def schemas(base_url: str) -> list[dict]:
    documents = []
    for schema in LIBRARY_SCHEMAS:
        if schema.get("id") not in _SERVED_SCHEMAS:
            continue
        document = _as_served(schema)
        document["meta"] = {
            "resourceType": "Schema",
            "location": f"{base_url}/Schemas/{schema['id']}",
        }
        documents.append(document)
    return sorted(documents, key=lambda d: d["id"])


# Attributes every resource has (RFC 7643 section 3.1), which the schema documents leave out.
_COMMON_TYPES = {
    ("id", None): "string",
    ("externalId", None): "string",
    ("meta", "resourceType"): "string",
    ("meta", "created"): "dateTime",
    ("meta", "lastModified"): "dateTime",
    ("meta", "location"): "reference",
    ("meta", "version"): "string",
}


def _types() -> dict[tuple[str, str, str | None], str]:
    types = {}
    for document in LIBRARY_SCHEMAS:
        if document.get("id") not in _SERVED_SCHEMAS:
            continue
        uri = document["id"].lower()
        for item in _as_served(document)["attributes"]:
            types[(uri, item["name"], None)] = item["type"]
            for sub in item.get("subAttributes", []):
                types[(uri, item["name"], sub["name"])] = sub["type"]
            if item.get("multiValued") and item["type"] == "complex":
                # emails eq "x" compares the value of each email
                value = next((sub for sub in item.get("subAttributes", []) if sub["name"] == "value"), None)
                if value is not None:
                    types[(uri, item["name"], None)] = value["type"]
        if uri != ENTERPRISE_SCHEMA.lower():
            types.update({(uri, name, sub): kind for (name, sub), kind in _COMMON_TYPES.items()})
    # RFC 7643 section 4.1.2 gives addresses a primary; the library's document lacks it.
    types[(USER_SCHEMA.lower(), "addresses", "primary")] = "boolean"
    return types


_TYPES = _types()


def attribute_type(schema: str, attribute: str, sub_attribute: str | None = None) -> str | None:
    """The SCIM type (RFC 7643 section 2.3) of an attribute named canonically, as /Schemas
    gives it: "string", "boolean", "dateTime", "reference", "complex" ...; None if unknown.

    A multi-valued attribute named without a sub-attribute stands for its values.
    """
    return _TYPES.get((schema.lower(), attribute, sub_attribute))


SCIM_MOUNT = "/scim/v1"


def base_url(request) -> str:
    """The SCIM base URL clients use: SCIM_PUBLIC_BASE_URL, or this request's host."""
    if settings.SCIM_PUBLIC_BASE_URL:
        return settings.SCIM_PUBLIC_BASE_URL
    # Asked for twice per resource in a page; the answer cannot change within a request.
    url = getattr(request, "_scim_base_url", None)
    if url is None:
        url = request._scim_base_url = request.build_absolute_uri(SCIM_MOUNT)
    return url


def base_location(request=None, *args, **kwargs) -> str:
    """django-scim2's BASE_LOCATION_GETTER: scheme and host only."""
    url = base_url(request)
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
