"""The one map from engine refusals to HTTP statuses, for the API's JSON errors and the error pages.

``status_of`` looks the exception's classes up most specific first (a ``ScriptTimeoutError`` is a
``ScriptError``, a ``MessageRefusedError`` a ``FormValidationError``); an engine refusal without a
finer class is 422: the request cannot be processed. The pages meet only the refusals of their
commands (403, 404, 409, 400, 422); sign-in throttling (429) and wrong credentials (401) are
answered by the sign-in page itself, and a body type (415) is asked only of the API.
"""
from __future__ import annotations

from engine.errors import (
    AuthenticationError, ConflictError, DefinitionError, EngineError, FormValidationError, NotFoundError,
    PermissionDeniedError, ScriptError, TooManyRequestsError, UnsupportedMediaTypeError, ValidationError,
)

STATUS_OF_ERROR: dict[type[EngineError], int] = {
    ValidationError: 400, AuthenticationError: 401, PermissionDeniedError: 403, NotFoundError: 404,
    ConflictError: 409, UnsupportedMediaTypeError: 415, FormValidationError: 422, DefinitionError: 422,
    ScriptError: 422, TooManyRequestsError: 429,
}
UNPROCESSABLE = 422


def status_of(exc: EngineError) -> int:
    """The HTTP status of an engine refusal."""
    for cls in type(exc).__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]
    return UNPROCESSABLE


def is_api_path(path: str) -> bool:
    """Whether ``path`` is the API's (``/api`` and below): JSON errors, no session cookie, no CSRF form token."""
    return path == "/api" or path.startswith("/api/")
