"""The agent check-in endpoint (djangorestframework), authenticated by the account's agent
deployment key: ``Authorization: Bearer atk_agent_…``."""

from __future__ import annotations

import json

from django.db import DataError
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    ParseError,
    Throttled,
    ValidationError,
)
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from directory.agent_services import agent_check_in, agent_field_max_length
from directory.errors import (
    DATABASE_UNAVAILABLE_DETAIL,
    DATABASE_UNAVAILABLE_ERRORS,
    DirectoryError,
    database_unavailable,
)
from integrations.client_address import client_address
from integrations.models import AgentKey
from integrations.ratelimit import authentication_failure_wait
from integrations.services import KeyRefused, key_authenticate

# A check-in is three short strings; anything near this size is not an agent.
CHECK_IN_MAX_BODY_BYTES = 64 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"A check-in body must be at most {CHECK_IN_MAX_BODY_BYTES} bytes."
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    """JSON read in at most CHECK_IN_MAX_BODY_BYTES, whatever Content-Length says, and refused
    with a 400 when nested too deeply for the decoder (instead of a RecursionError)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(CHECK_IN_MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > CHECK_IN_MAX_BODY_BYTES:
            raise PayloadTooLarge
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            return json.loads(raw.decode(encoding))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ParseError("The JSON body is nested too deeply.") from None


class AgentPrincipal:
    is_authenticated = True

    def __init__(self, agent_key) -> None:
        self.agent_key = agent_key
        self.account = agent_key.account


class AgentKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request):
        try:
            agent_key = key_authenticate(request.META.get("HTTP_AUTHORIZATION"), model=AgentKey).api_key
        except KeyRefused as refused:
            # Failed keys count per client address, exactly as on the SCIM API.
            wait = authentication_failure_wait(client_address(request._request))
            if wait:
                raise Throttled(wait, detail="Too many requests with wrong keys.") from None
            raise AuthenticationFailed(refused.detail) from None
        return AgentPrincipal(agent_key), agent_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="agents"'


class AgentCheckInView(APIView):
    """POST a check-in; the same machine and logon always update the same agent."""

    authentication_classes = [AgentKeyAuthentication]
    permission_classes: list = []
    parser_classes = [BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        logon_name = serializers.CharField(
            max_length=agent_field_max_length("logon_name"), help_text="DOMAIN\\name or name@domain"
        )
        machine_name = serializers.CharField(max_length=agent_field_max_length("machine_name"))
        os = serializers.CharField(
            max_length=agent_field_max_length("os"), required=False, allow_blank=True, default=""
        )

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Refuse a declared oversize body before authenticating or reading it.
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ParseError("Content-Length is not a number.") from None
        if declared > CHECK_IN_MAX_BODY_BYTES:
            raise PayloadTooLarge
        super().initial(request, *args, **kwargs)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        logon_name = serializers.CharField()
        machine_name = serializers.CharField()
        os = serializers.CharField()
        status = serializers.CharField()
        uninstall_required = serializers.BooleanField(source="is_uninstall_required")
        user = serializers.SerializerMethodField()
        first_seen_at = serializers.DateTimeField()
        last_seen_at = serializers.DateTimeField()

        def get_user(self, agent) -> dict | None:
            if agent.user is None:
                return None
            return {"id": str(agent.user.scim_id), "userName": agent.user.user_name}

    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationError({"detail": "Send a JSON object."})
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            agent, created = agent_check_in(account=request.user.account, **serializer.validated_data)
        except DirectoryError as exc:
            raise ValidationError({"detail": exc.detail}) from None
        return Response(
            self.OutputSerializer(agent).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus 503 with Retry-After when the database is unreachable or aborted
    the request (a deadlock with a concurrent write to the same user): the agent's next
    heartbeat is the retry, as SCIM clients retry a 503."""
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        return Response(
            {"detail": DATABASE_UNAVAILABLE_DETAIL},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=database_unavailable(exc, what="Agent check-in"),
        )
    if isinstance(exc, DataError):
        # A value slipped past validation that the database refuses: the client's input.
        return Response(
            {"detail": "A value in the check-in cannot be stored."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
