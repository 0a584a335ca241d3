"""Reading request bodies: what a body that cannot be read, or is not JSON, gets.

What a well-formed body must contain is the business of its Pydantic model (`core/api.py`);
this module makes sure that every malformed input before that maps to a 4xx, never a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import abort, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

MAX_DEPTH = 32
log = logging.getLogger(__name__)
# Control characters, and lone surrogates that no database driver can encode.
_UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def read_body() -> bytes:
    """The raw body, or a 400 when it cannot be read to its end."""
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise
    except Exception as error:
        # A malformed chunked body, a missing terminator, a client that closed half-way:
        # werkzeug reports some (ClientDisconnected), each WSGI server others, its own way.
        log.warning("request body unreadable", extra={"error_type": type(error).__name__})
        abort(400, description="The request body could not be read to its end.")


def read_json() -> Any:
    """Parse the request body as JSON, or answer what is wrong with it: 415 unless it is
    declared `application/json`, 413 over MAX_CONTENT_LENGTH, 400 when it is not JSON.

    Flask caches the result, so a later `request.get_json()` (APIFlask's) reads it for free.
    """
    if not request.is_json:
        abort(415, description="Send a JSON body with Content-Type: application/json.")
    # Werkzeug answers 413 for a declared length over MAX_CONTENT_LENGTH, but silently
    # truncates a chunked body at the limit.
    raw = read_body()
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        abort(413)
    try:
        data = request.get_json()
    except BadRequest:
        abort(400, description="The body is not valid JSON.")
    except RecursionError:  # Flask reports only ValueError as a bad body
        abort(400, description="The JSON body is nested too deeply.")
    if _deeper_than(data, MAX_DEPTH):
        abort(400, description=f"The JSON body is nested deeper than {MAX_DEPTH} levels.")
    return data


def text_problem(value: str, *, max_length: int) -> str | None:
    """What is wrong with a text value, or None: the rules every text field follows."""
    if not value.strip() or len(value) > max_length:
        return f"must have 1 to {max_length} characters and not be blank"
    if _UNSAFE_TEXT.search(value):
        return "must not contain control characters"
    return None
