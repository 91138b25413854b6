"""The HTTP side of every SCIM endpoint: errors as RFC 7644 JSON, request bodies and their
limits, and the bearer-key check and rate limit that run before any view method.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import contextmanager
from urllib.parse import unquote_to_bytes

import orjson
from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.db import (
    DatabaseError,
    DataError,
    connection,
    transaction,
)
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django_scim.exceptions import BadRequestError, SCIMException

from directory.errors import (
    DATABASE_UNAVAILABLE_DETAIL,
    DATABASE_UNAVAILABLE_ERRORS,
    DirectoryError,
    ErrorKind,
    database_unavailable,
)
from directory.scim.auth import AuthenticationFailed, authenticate
from directory.scim.schema import (
    ERROR_SCHEMA,
)
from integrations.client_address import client_address
from integrations.keys import redact_keys
from integrations.ratelimit import authentication_failure_wait
from integrations.services import event_record

logger = logging.getLogger(__name__)
# The logger Django reports a refused Host header to, kept for the hosts refused here.
disallowed_host_logger = logging.getLogger("django.security.DisallowedHost")

SCIM_CONTENT_TYPE = "application/scim+json"
JSON_CONTENT_TYPES = {"application/scim+json", "application/json"}
MAX_JSON_DEPTH = 32
# Charsets a body may declare: UTF-8, and ASCII, which is UTF-8 too.
UTF8_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}


class ScimError(SCIMException):
    """A SCIM error with any status (413, 415, 405, 412, 503 ...)."""

    def __init__(self, detail: str, *, status: int, scim_type: str | None = None, headers=None):
        super().__init__(detail, status=status, scim_type=scim_type)
        self.headers = headers or {}


# The RFC 7644 scimType of each kind of directory rule; a kind not listed has none.
SCIM_TYPES = {ErrorKind.INVALID: "invalidValue", ErrorKind.CONFLICT: "uniqueness"}


def as_scim_error(exc: DirectoryError) -> SCIMException:
    """A broken directory rule as the SCIM error that reports it, with its status."""
    error = BadRequestError(exc.detail, scim_type=SCIM_TYPES.get(exc.kind))
    error.status = exc.status
    return error


def scim_response(document: dict | None, status: int = 200, headers=None) -> HttpResponse:
    content = b"" if document is None else dump_json(document)
    response = HttpResponse(content, status=status, content_type=SCIM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def dump_json(document: dict) -> bytes:
    """orjson, which printed a page of groups with 150,000 members in a fraction of json.dumps'
    time; json.dumps for what orjson refuses (integers past 64 bits, stored by hand in admin)."""
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def error_response(exc: SCIMException) -> HttpResponse:
    detail = redact_keys(str(exc.detail))
    document = {"schemas": [ERROR_SCHEMA], "status": str(exc.status), "detail": detail}
    if exc.scim_type:
        document["scimType"] = exc.scim_type
    return scim_response(document, status=exc.status, headers=getattr(exc, "headers", None))


# Middleware after ScimHostMiddleware that put security headers on every response
# (X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy, HSTS on HTTPS,
# X-Frame-Options). A refused host never reaches them, so its answer goes through their
# process_response here; none of them asks for the host there.
SECURITY_HEADER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class ScimHostMiddleware:
    """Refuse a SCIM request for a host this server does not serve with a SCIM error.

    Django answers a Host header outside DJANGO_ALLOWED_HOSTS with the site's HTML 400 page,
    raised by whichever middleware asks for the host first (SecurityMiddleware's HTTPS redirect,
    CommonMiddleware). An identity provider shows its admin only a SCIM error's detail, so this
    middleware sits ahead of both and asks first, for paths under /scim/ only; pages keep the
    site's own 400 page. The refusal gets the security headers every other response gets.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Innermost first, as a response passes back through them; only those the site uses.
        self.header_middleware = [
            import_string(path)(get_response)
            for path in reversed(settings.MIDDLEWARE)
            if path in SECURITY_HEADER_MIDDLEWARE
        ]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/scim/"):
            try:
                request.get_host()
            except DisallowedHost as exc:
                disallowed_host_logger.error(
                    str(exc), extra={"status_code": 400, "request": request}
                )
                return self.refused(request)
        return self.get_response(request)

    def refused(self, request: HttpRequest) -> HttpResponse:
        host = (request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))[:100]
        response = error_response(
            ScimError(
                f"This server does not serve the host {host!r}. Send SCIM requests to "
                "the SCIM base URL shown on the Integrations page.",
                status=400,
            )
        )
        for middleware in self.header_middleware:
            response = middleware.process_response(request, response)
        response["Content-Length"] = str(len(response.content))  # as CommonMiddleware sets it
        return response


def client_ip(request: HttpRequest) -> str | None:
    """The client address for an event row (None when there is none)."""
    return client_address(request) or None


def _check_json(body, raw: bytes) -> None:
    """Refuse what no column can hold: absurd nesting, and NUL characters in text.

    Walks containers only; text is searched for NUL only when the raw body escapes one, so a
    50,000-member PUT is not checked string by string.
    """
    check_text = b"\\u0000" in raw
    stack = [(body, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadRequestError("The request body is nested too deeply.", scim_type="invalidSyntax")
        if not check_text and isinstance(value, list) and _flat_objects(value):
            # A list of flat objects (a group's members): its objects are one level down and
            # hold nothing deeper.
            if depth + 1 > MAX_JSON_DEPTH:
                raise BadRequestError("The request body is nested too deeply.", scim_type="invalidSyntax")
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if check_text and _has_nul(key):
                raise BadRequestError("Text values cannot contain NUL characters.", scim_type="invalidValue")
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
            elif check_text and _has_nul(item):
                raise BadRequestError("Text values cannot contain NUL characters.", scim_type="invalidValue")


def _flat_objects(items: list) -> bool:
    for item in items:
        if type(item) is not dict:
            return False
        for field in item.values():
            if type(field) is dict or type(field) is list:
                return False
    return True


def _has_nul(value) -> bool:
    return isinstance(value, str) and "\x00" in value


def parse_json_body(request: HttpRequest) -> dict:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type and content_type not in JSON_CONTENT_TYPES:
        raise ScimError(
            f"Content-Type {content_type!r} is not supported; send application/scim+json.",
            status=415,
            scim_type="invalidSyntax",
        )
    charset = request.content_params.get("charset", "").strip().strip('"')
    if charset and charset.lower() not in UTF8_CHARSETS:
        # RFC 7644 section 3.8 and RFC 8259: JSON between systems is UTF-8.
        raise ScimError(
            f"charset {charset[:40]!r} is not supported; send the body as UTF-8 "
            "(charset=utf-8, or no charset).",
            status=415,
            scim_type="invalidSyntax",
        )
    raw = request.body
    if not raw.strip():
        raise BadRequestError("The request body is empty.", scim_type="invalidSyntax")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("The request body is not UTF-8.", scim_type="invalidSyntax") from None
    try:
        body = orjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequestError(f"The request body is not valid JSON: {exc}.", scim_type="invalidSyntax") from None
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object.", scim_type="invalidSyntax")
    _check_json(body, raw)
    return body


# The query parameters of RFC 7644 section 3.4.2. Given twice, which one the client meant would
# be a guess (Django answers the last), so that is a 400.
SCIM_QUERY_PARAMETERS = (
    "filter",
    "startIndex",
    "count",
    "sortBy",
    "sortOrder",
    "attributes",
    "excludedAttributes",
)


def query_parameters(request: HttpRequest) -> dict[str, str]:
    """A SCIM request's query parameters, each once, read as UTF-8.

    URLs percent-encode UTF-8 (RFC 3986); request.GET decodes them in the charset of the
    Content-Type instead, so a GET that said charset=utf-16 lost its filter and was answered
    with the whole unfiltered list. Past DATA_UPLOAD_MAX_NUMBER_FIELDS parameters QueryDict
    raises TooManyFieldsSent, which ScimView answers with a 400.
    """
    raw = get_bytes_from_wsgi(request.META, "QUERY_STRING", "")
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError(
            "The query string is not UTF-8: percent-encode UTF-8 bytes.", scim_type="invalidSyntax"
        ) from None
    params = QueryDict(raw, encoding="utf-8")
    for name in SCIM_QUERY_PARAMETERS:
        given = len(params.getlist(name))
        if given > 1:
            raise BadRequestError(
                f"The query parameter {name!r} is given {given} times; give it once.",
                scim_type="invalidSyntax",
            )
    return {name: params[name] for name in SCIM_QUERY_PARAMETERS if name in params}


# A statement a connection has run this many times during SCIM requests is prepared on the
# server: planning was a third of a userName lookup's time in PostgreSQL.
PREPARE_AFTER_RUNS = 5


@contextmanager
def prepared_statements():
    """Let the driver prepare repeated statements, for the SCIM request inside.

    Only SCIM requests: their statements are index lookups, for which PostgreSQL's reused
    generic plan is as good as a fresh one. The web pages' substring searches ran three times
    slower on a generic plan.
    """
    driver = connection.connection  # None until the worker's first query: nothing to keep yet
    binds_on_server = connection.settings_dict["OPTIONS"].get("server_side_binding")
    if connection.vendor != "postgresql" or not binds_on_server or driver is None:
        yield
        return
    driver.prepare_threshold = PREPARE_AFTER_RUNS
    try:
        yield
    finally:
        driver.prepare_threshold = None


@method_decorator(csrf_exempt, name="dispatch")
class ScimView(View):
    """Error handling, size limits and bearer-key authentication for every SCIM endpoint."""

    requires_key = True

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with prepared_statements():
            return self.handle(request, *args, **kwargs)

    def handle(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.principal = None
        try:
            self.check_length(request)
            if self.requires_key:
                self.principal = authenticate(request.META.get("HTTP_AUTHORIZATION"))
                # Read by the logs and metrics (activtrak_scim/observability/).
                request.scim_principal = self.principal
                self.check_rate(self.principal.rate_limit_wait, "this API key")
            return super().dispatch(request, *args, **kwargs)
        except AuthenticationFailed as exc:
            return self.authentication_failed(request, exc)
        except SCIMException as exc:
            return self.failed(request, exc, kwargs)
        except DirectoryError as exc:
            return self.failed(request, as_scim_error(exc), kwargs)
        except RequestDataTooBig:
            return self.failed(request, self.too_large(), kwargs)
        except (SuspiciousOperation, BadRequest) as exc:
            return self.failed(request, self.refused_request(request, exc), kwargs)
        except DataError:
            # A value slipped past validation that the database refuses: the client's input.
            return self.failed(
                request,
                BadRequestError("A value in the request cannot be stored.", scim_type="invalidValue"),
                kwargs,
            )
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            return self.database_unavailable(exc)
        except Exception:
            logger.exception("SCIM request failed unexpectedly: %s %s", request.method, request.path)
            return error_response(ScimError("The server could not complete the request.", status=500))

    @staticmethod
    def refused_request(request: HttpRequest, exc: Exception) -> BadRequestError:
        """Django's refusal to read a request (too many query parameters, and the like) as a
        SCIM 400: the client's doing, so a warning without a traceback, not a logged 500."""
        name = type(exc).__name__
        logging.getLogger(f"django.security.{name}").warning(
            "SCIM request refused: %s %s: %s", request.method, request.path, name
        )
        if isinstance(exc, TooManyFieldsSent):
            detail = (
                f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query "
                "parameters; SCIM requests need only a few."
            )
        else:
            detail = "The request is malformed and cannot be read."
        return BadRequestError(detail, scim_type="invalidSyntax")

    @staticmethod
    def database_unavailable(exc: Exception) -> HttpResponse:
        headers = database_unavailable(exc, what="SCIM request")
        return error_response(ScimError(DATABASE_UNAVAILABLE_DETAIL, status=503, headers=headers))

    @staticmethod
    def check_rate(wait: int | None, what: str) -> None:
        if wait is not None:
            raise ScimError(
                f"Too many requests for {what}; retry after {wait} seconds.",
                status=429,
                headers={"Retry-After": str(wait)},
            )

    def max_body_bytes(self) -> int:
        # Okta PUTs a group with its whole member list; every other body is small.
        if getattr(self, "resource_type", "") == "Group":
            return settings.SCIM_MAX_GROUP_BODY_BYTES
        return settings.SCIM_MAX_BODY_BYTES

    def too_large(self) -> ScimError:
        return ScimError(
            f"The request body is larger than {self.max_body_bytes()} bytes.",
            status=413,
            scim_type="tooMany",
        )

    def check_length(self, request: HttpRequest) -> None:
        length = request.META.get("CONTENT_LENGTH")
        if length:
            try:
                too_big = int(length) > self.max_body_bytes()
            except ValueError:
                raise BadRequestError("Content-Length is not a number.", scim_type="invalidSyntax") from None
            if too_big:
                raise self.too_large()

    def http_method_not_allowed(self, request, *args, **kwargs) -> HttpResponse:
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        raise ScimError(
            f"{request.method} is not supported here; allowed: {allowed}.",
            status=405,
            headers={"Allow": allowed},
        )

    def authentication_failed(self, request: HttpRequest, exc: AuthenticationFailed) -> HttpResponse:
        request.scim_auth_failure = exc.reason  # counted by the metrics
        instance = exc.api_key.instance if exc.api_key else None
        try:
            # Over the limit, a guesser gets 429 and costs no more event rows.
            self.check_rate(authentication_failure_wait(client_ip(request)), "this client address")
        except ScimError as limited:
            return error_response(limited)
        except DatabaseError:
            logger.warning("Could not count a failed authentication.")
        try:
            event_record(
                account=instance.account if instance else None,
                instance=instance,
                action="auth.failure",
                status_code=401,
                detail=f"{request.method} {request.path}: {exc.reason}",
                client_ip=client_ip(request),
            )
        except DatabaseError:
            logger.warning("Could not record an authentication failure event.")
        return error_response(
            ScimError(
                exc.detail,
                status=401,
                headers={"WWW-Authenticate": settings.SCIM_SERVICE_PROVIDER["WWW_AUTHENTICATE_HEADER"]},
            )
        )

    def failed(self, request: HttpRequest, exc: SCIMException, kwargs: dict) -> HttpResponse:
        writes = ("POST", "PUT", "PATCH", "DELETE")
        # A 429 is not recorded: a client over its limit must not also flood the event log.
        is_write = self.principal is not None and request.method in writes and exc.status != 429
        action = self.failure_action(request, kwargs) if is_write else None
        if action:
            try:
                with transaction.atomic():
                    event_record(
                        account=self.principal.account,
                        instance=self.principal.instance,
                        action=action,
                        status_code=exc.status,
                        target_type=getattr(self, "resource_type", ""),
                        target_id=kwargs.get("uuid") or "",
                        detail=str(exc.detail),
                        client_ip=client_ip(request),
                    )
            except DatabaseError:
                logger.warning("Could not record a failed provisioning event.")
        return error_response(exc)

    def failure_action(self, request: HttpRequest, kwargs: dict) -> str | None:
        return None
