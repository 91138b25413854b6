"""SCIM discovery (/ServiceProviderConfig, /Schemas, /ResourceTypes) and the answers for what
the server does not offer (/Bulk, /Me) or does not have."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django_scim.exceptions import NotFoundError

from directory.scim.http import ScimError, ScimView, error_response, scim_response
from directory.scim.schema import (
    LIST_RESPONSE,
    base_url,
    resource_types,
    schemas,
    service_provider_config,
)


class DiscoveryView(ScimView):
    """ServiceProviderConfig, Schemas and ResourceTypes describe the server, not an account."""

    requires_key = False
    http_method_names = ["get"]


class ServiceProviderConfigView(DiscoveryView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return scim_response(service_provider_config(base_url(request)))


def list_response(resources: list[dict]) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


class DocumentListView(DiscoveryView):
    """A fixed list of documents: all of them as a ListResponse, or one by its id."""

    @staticmethod
    def documents(base: str) -> list[dict]:
        raise NotImplementedError

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        documents = self.documents(base_url(request))
        if uuid is None:
            return scim_response(list_response(documents))
        for document in documents:
            if document["id"] == uuid:
                return scim_response(document)
        raise NotFoundError(uuid)


class SchemasView(DocumentListView):
    documents = staticmethod(schemas)


class ResourceTypesView(DocumentListView):
    documents = staticmethod(resource_types)


@method_decorator(csrf_exempt, name="dispatch")
class NotImplementedView(ScimView):
    """/Bulk and /Me: features we do not offer (RFC 7644 asks for 501)."""

    http_method_names = ["get", "post", "put", "patch", "delete"]

    def dispatch(self, request, *args, **kwargs):
        return error_response(
            ScimError(f"{request.path} is not supported by this server.", status=501)
        )


@method_decorator(csrf_exempt, name="dispatch")
class UnknownEndpointView(ScimView):
    requires_key = False

    def dispatch(self, request, *args, **kwargs):
        return error_response(
            ScimError(
                f"There is no SCIM endpoint at {request.path}. Use {base_url(request)}/Users or /Groups.",
                status=404,
            )
        )
