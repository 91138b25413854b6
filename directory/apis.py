"""The agent check-in endpoint (djangorestframework), authenticated by the account's agent
deployment key: ``Authorization: Bearer atk_agent_…``."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from directory.agent_services import agent_check_in
from directory.errors import DATABASE_RETRY_AFTER_SECONDS, DirectoryError
from integrations.models import AgentKey
from integrations.services import KeyRefused, key_authenticate


class AgentPrincipal:
    is_authenticated = True

    def __init__(self, agent_key) -> None:
        self.agent_key = agent_key
        self.account = agent_key.account


class AgentKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request):
        try:
            agent_key = key_authenticate(request.META.get("HTTP_AUTHORIZATION"), model=AgentKey)
        except KeyRefused as refused:
            raise AuthenticationFailed(refused.detail) from None
        return AgentPrincipal(agent_key), agent_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="agents"'


class AgentCheckInView(APIView):
    """POST a check-in; the same machine and logon always update the same agent."""

    authentication_classes = [AgentKeyAuthentication]
    permission_classes: list = []

    class InputSerializer(serializers.Serializer):
        logon_name = serializers.CharField(max_length=320, help_text="DOMAIN\\name or name@domain")
        machine_name = serializers.CharField(max_length=255)
        os = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

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
    if isinstance(exc, (OperationalError, InterfaceError)):
        return Response(
            {"detail": "The directory database is unavailable; retry shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    return drf_exception_handler(exc, context)
