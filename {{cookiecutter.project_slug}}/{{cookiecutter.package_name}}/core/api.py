"""The API contract: bodies declared once, as Pydantic models, for validation and the document.

APIFlask validates each view's input against its model and builds the OpenAPI 3.1 document
(`GET /openapi.json`) from the same models, so the document cannot drift from the code. This
module holds the rules every body follows and the service's side of APIFlask:

- `Body` (request bodies): strict types, so `false` is not an integer and `"12"` not a
  number, and unknown fields are refused, naming them. `Query` (query strings): text by
  nature, so numbers are parsed from it.
- `Text(max_length)`: the rules every text field follows (1 to `max_length` characters, not
  blank, no control characters), documented in the schema as a pattern.
- `Resource` (response bodies): built from ORM objects; a field declared with
  `signed_in_only()` is null for anonymous callers.
- `json_body(bp, Model)`: the body is read by `core/payload.py` first (415, 413, 400), then
  validated (422 with a message per field).
- Every error, validation included, keeps the service's error body (`ErrorBody`) and names the
  correlation id; the document says so, and lists the correlation-id header on every response
  (`describe_every_operation`). It also lists, on every operation, the errors the
  infrastructure answers there (`infrastructure_errors`): a view's `@bp.doc(responses=...)`
  names only its own (404, 409, an ownership 403...).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Self, TypeVar

from annotated_types import GroupedMetadata
from apiflask import APIBlueprint, APIFlask, HTTPError
from apiflask.helpers import get_reason_phrase
from flask import Flask, Response, current_app
from flask.json.provider import DefaultJSONProvider
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import IntegerConverter

from . import idempotency, payload
from .context import current_user_id
from .errors import error_code, error_response

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = [
    "SESSION_WRITE",
    "SIGNED_IN",
    "SIGNED_IN_WRITE",
    "Body",
    "Resource",
    "Text",
    "Timestamp",
    "init_app",
    "json_body",
    "signed_in_only",
    "unchanged",
]

View = TypeVar("View", bound=Callable[..., Any])

# `payload.text_problem` as a JSON-schema pattern, for clients and contract tests (a test
# checks that the two agree). Whitespace is spelled out: `\s` means other characters in
# JavaScript's regular expressions, which JSON Schema uses, than in Python's.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_SPACE = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TEXT_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"
_SIGNED_IN_ONLY = "x-signed-in-only"
# The security requirements of a signed-in caller (the schemes `init_app` declares), either
# one: a session, or an API token. A write with a session also needs the CSRF token; a token
# request needs none. `bp.doc(security=SIGNED_IN_WRITE)`.
SIGNED_IN: list[str | dict[str, list[Any]]] = [{"session": []}, {"token": []}]
SIGNED_IN_WRITE: list[str | dict[str, list[Any]]] = [{"session": [], "csrf": []}, {"token": []}]
# A write only a session may make (managing API tokens: a leaked token must not mint more).
SESSION_WRITE: list[str | dict[str, list[Any]]] = [{"session": [], "csrf": []}]


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """`Annotated[str, Text(200)]`: a text field of 1 to 200 characters, not blank, with no
    control characters. (Lone surrogates, which no database driver can store, are refused by
    Pydantic itself.)"""

    max_length: int

    def __iter__(self) -> Iterator[object]:
        yield Field(
            min_length=1, max_length=self.max_length, json_schema_extra={"pattern": TEXT_PATTERN}
        )
        yield AfterValidator(self.check)

    def check(self, value: str) -> str:
        problem = payload.text_problem(value, max_length=self.max_length)
        if problem is not None:
            raise ValueError(problem)
        return value


def _as_utc(value: datetime) -> datetime:
    # SQLite and MySQL hand back naive datetimes; every value the service stores is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_as_utc)]


class Body(BaseModel):
    """Base of request bodies: strict types, no unknown fields.

    Strict as Pydantic applies it to Python objects (APIFlask validates the parsed JSON):
    right for the types JSON has (strings, numbers, booleans, lists, objects). A field of a
    type JSON writes as a string (a date, a UUID, an enum) opts out on its own:
    `day: date = Field(strict=False)`.
    """

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """Base of query-string parameters: parsed from text. Unknown parameters are ignored, as
    caches and browsers add their own (`?_=1700000000`)."""

    model_config = ConfigDict(extra="ignore")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def unchanged() -> Any:
    """The default of a field of a PATCH body: left out, the value stays as it is. Declare
    the field with its plain type (`name: ItemName = unchanged()`), so that null is refused;
    `model_fields_set` says which fields were sent."""
    return Field(default=None, json_schema_extra=_no_default)


def signed_in_only(description: str) -> Any:
    """A response field that anonymous callers see as null (declare it `X | None`)."""
    return Field(default=None, description=description, json_schema_extra={_SIGNED_IN_ONLY: True})


class Resource(BaseModel):
    """Base of response bodies, built from ORM objects with `for_caller`."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def for_caller(cls, obj: Any) -> Self:
        """`obj` as this model, with the `signed_in_only` fields emptied for anonymous callers.

        Built once either way: for an anonymous caller only the public fields are read from
        `obj` (by name), and the others keep their default, null.
        """
        if current_user_id() is not None:
            return cls.model_validate(obj)
        return cls.model_validate({name: getattr(obj, name) for name in _public_fields(cls)})


@functools.cache
def _public_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(
        name
        for name, field in model.model_fields.items()
        if not (
            isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get(_SIGNED_IN_ONLY)
        )
    )


class ErrorBody(BaseModel):
    """What every error response carries."""

    error: str = Field(description="A stable, machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for people.")
    correlation_id: str = Field(description="The id of the request, as in the logs.")
    fields: dict[str, list[str]] | None = Field(
        default=None,
        description="On 422: the problems of each field (`body` for the body as a whole).",
    )


def json_body(scaffold: APIBlueprint | APIFlask, model: type[Body]) -> Callable[[View], View]:
    """`scaffold.input(model)` behind the service's rules for reading a body.

    The view receives the validated model as its `body` argument. APIFlask alone would accept
    any content type as JSON and answer 500 to some malformed bodies: `payload.read_json`
    turns those into 415, 413 and 400 first, and caches the parsed body for APIFlask. The
    document should list 400, 413 and 415 for the view (`bp.doc(responses=...)`).
    """
    validate = scaffold.input(model, location="json", arg_name="body")

    def decorator(view: View) -> View:
        validating = validate(view)

        @functools.wraps(validating)
        def reading(*args: Any, **kwargs: Any) -> Any:
            # APIFlask would read `null` as `{}`: a body that is not an object is refused here.
            if not isinstance(payload.read_json(), dict):
                raise HTTPError(422, detail={"json": {"_schema": ["must be a JSON object"]}})
            return validating(*args, **kwargs)

        return reading  # type: ignore[return-value]

    return decorator


def api_error(error: HTTPError) -> Response:
    """APIFlask's errors (validation failures) in the service's error body."""
    status = error.status_code
    if status == current_app.config["VALIDATION_ERROR_STATUS_CODE"]:
        message = "The request is invalid: `fields` says what is wrong with each field."
    else:
        message = str(error.message)
    fields: dict[str, list[str]] | None = None
    if isinstance(error.detail, dict) and error.detail:
        fields = {}
        for problems in error.detail.values():  # {"json": {"name": ["..."]}, "query": ...}
            for field, messages in problems.items():
                fields.setdefault("body" if field == "_schema" else field, []).extend(messages)
    code = error_code(HTTP_STATUS_CODES.get(status, "error"))
    response = error_response(status, code, message, fields)
    response.headers.update(error.headers or {})
    return response


def infrastructure_errors(method: str, operation: dict[str, Any]) -> list[int]:
    """The errors the infrastructure may answer on an operation, before or around its view:
    400 (a forged remember cookie, an unreadable body or header) and 503 (a dependency down)
    anywhere; 413 (a body over MAX_CONTENT_LENGTH) on every method that may send one; 415 (a
    body that is not JSON) where a body is declared; 401 where signing in is required; 403
    where the CSRF token is (core/csrf.py)."""
    errors = [400, 503]
    if method not in {"get", "head"}:
        errors.append(413)
    if "requestBody" in operation:
        errors.append(415)
    security = operation.get("security") or []
    if security and {} not in security:
        errors.append(401)
    if any("csrf" in requirement for requirement in security):
        errors.append(403)
    return errors


def describe_every_operation(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
    """What holds for every operation, which no view declares: the errors the infrastructure
    answers there (`infrastructure_errors`), the correlation-id header on each response, a
    `default` response for the unexpected (a 500), and that a declared body is required
    (`json_body` answers 415 without one; APIFlask leaves `required` out)."""
    if isinstance(spec, str):  # only when SPEC_FORMAT is yaml, which the service does not use
        return spec
    header = current_app.config["CORRELATION_ID_HEADER"]
    components = spec.setdefault("components", {})
    components.setdefault("headers", {})["CorrelationId"] = {
        "description": "The request's correlation id (the caller's, if valid, or a new one).",
        "schema": {"type": "string"},
    }
    reference = {"$ref": "#/components/headers/CorrelationId"}
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
    for operations in spec.get("paths", {}).values():
        for method, operation in operations.items():
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
            responses = operation.setdefault("responses", {})
            for status in infrastructure_errors(method, operation):
                responses.setdefault(
                    str(status), {"description": get_reason_phrase(status), "content": error_body}
                )
            responses.setdefault(
                "default",
                {"description": "Unexpected error.", "content": error_body},
            )
            for response in responses.values():
                response.setdefault("headers", {})[header] = reference
    for path, method in idempotent_operations():
        describe_idempotency(spec["paths"][path][method])
    return spec


def idempotent_operations() -> Iterator[tuple[str, str]]:
    """(OpenAPI path, method) of each view under `@idempotent`."""
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions[rule.endpoint]
        if getattr(view, idempotency.MARKER, False):
            path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield path, method.lower()


def describe_idempotency(operation: dict[str, Any]) -> None:
    operation.setdefault("parameters", []).append(
        {
            "name": idempotency.HEADER,
            "in": "header",
            "required": False,
            "description": "Makes the request safe to retry: a repeat with the same key and "
            "the same body gets the first response again (and writes nothing); with another "
            "body, 422; while the first is still running, 409. Scoped to the caller.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": idempotency.KEY_MAX_LENGTH,
                "pattern": "^[\\x20-\\x7e]+$",
            },
        }
    )
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            response["headers"][idempotency.REPLAYED_HEADER] = {
                "description": "true: a stored response to an earlier request with this key.",
                "schema": {"type": "string", "enum": ["true"]},
            }


class AsciiIntegerConverter(IntegerConverter):
    """`<int:...>` in a URL rule, with ASCII digits only: Werkzeug's `\\d` also matches the
    digits of other scripts, and `/items/%EF%BC%91` (a full-width 1) was item 1."""

    regex = r"[0-9]+"


_ANYTHING = TypeAdapter(Any)
_COMPACT = {"separators": (",", ":")}


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, writing response bodies with Pydantic's encoder, about 4 µs
    faster per response than the standard library's: keys come in the order they were
    declared, text as UTF-8. Anything written with other options (`indent`...), and all
    reading, stay Flask's."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        # Flask asks for compact separators for every response outside debug mode.
        if kwargs and kwargs != _COMPACT:
            return super().dumps(obj, **kwargs)
        try:
            return _ANYTHING.dump_json(obj).decode()
        except ValueError:  # Pydantic's PydanticSerializationError
            # Text with lone surrogates (echoed from a bad request) has no UTF-8 form: the
            # standard library's encoder escapes it.
            return super().dumps(obj)


def init_app(app: Flask) -> None:
    if not isinstance(app, APIFlask):
        raise TypeError("the service's app is an APIFlask (see create_app)")
    app.json = JSONProvider(app)
    # Before any rule is added: rules take their converters and slash handling when added.
    # Routing never redirects: Werkzeug's redirects (`/items//1` to `/items/1`, `/a` to
    # `/a/`) are HTML pages sending the client to an absolute URL made from its own Host
    # header, and Flask hands them to no error handler. `/items//1` is a 404 like any other
    # path, and a trailing slash is matched either way.
    app.url_map.converters["int"] = AsciiIntegerConverter
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.url_map.redirect_defaults = False
    error_schema = ErrorBody.model_json_schema()
    app.config.update(
        HTTP_ERROR_SCHEMA=error_schema,
        VALIDATION_ERROR_SCHEMA=error_schema,
        # The document is cached after its first request: it must not name the host that
        # request happened to send (any client can send any Host header).
        AUTO_SERVERS=False,
        # Each view lists its own 401 (APIFlask would add one to any operation with a
        # security requirement, logout included, which never answers 401).
        AUTO_AUTH_ERROR_RESPONSE=False,
        SECURITY_SCHEMES={
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": app.config["SESSION_COOKIE_NAME"],
                "description": "The session cookie that POST /auth/login sets.",
            },
            "csrf": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CSRF-Token",
                "description": "The csrf_token that POST /auth/login returns; required with "
                "the session cookie on every request that changes something.",
            },
            "token": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token (POST /auth/tokens, or the create-token "
                "command), for other services: no session, no cookie, no CSRF token.",
            },
        },
    )
    # A handler for APIFlask's own error class only: its `error_processor` would also take
    # over werkzeug's errors, which `core/errors.py` answers (503s for dependencies included).
    app.register_error_handler(HTTPError, api_error)
    app.spec_processor(describe_every_operation)
