"""Correlation ids: which incoming value to trust, and how to make a new one.

Written by hand because the published extensions each miss something this service needs
(validation, the response header, traceparent, Flask 3 support); it is a few pure functions.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping

from werkzeug.datastructures import Headers

# An allow-list with a length cap rather than a UUID check: nginx's $request_id and W3C
# trace ids are 32 hex characters, and stdlib UUID parsing accepts braces, "urn:uuid:"
# prefixes and thousands of hyphens.
_VALID_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
TRACEPARENT = "traceparent"


def new_id() -> str:
    """32 random hex characters: the shape of a W3C trace id, so it can be reused as one."""
    return os.urandom(16).hex()


def is_valid(value: str) -> bool:
    return _VALID_ID.fullmatch(value) is not None


def trace_id(traceparent: str) -> str | None:
    """The trace id of a valid W3C traceparent header, else None."""
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        return None
    version, trace, parent, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace == "0" * 32 or parent == "0" * 16:
        return None
    return trace


def is_trace_id(value: str) -> bool:
    return _TRACE_ID.fullmatch(value) is not None and value != "0" * 32


def trace_id_for(correlation_id: str) -> str:
    """The correlation id itself when it has the shape of a trace id, else a stable hash."""
    if is_trace_id(correlation_id):
        return correlation_id
    return hashlib.blake2b(correlation_id.encode(), digest_size=16).hexdigest()


def from_headers(headers: Headers | Mapping[str, str], names: Iterable[str]) -> str | None:
    """The first valid id among `names`, in order; invalid values are skipped, never kept."""
    for name in names:
        value = headers.get(name)
        if not value:
            continue
        if name.lower() == TRACEPARENT:
            found = trace_id(value)
            if found is not None:
                return found
        elif is_valid(value):
            return value
    return None
