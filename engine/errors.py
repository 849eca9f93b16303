"""One error tree for everything the engine refuses.

Every message says what went wrong *and how to fix it*; ``details`` carries
machine-readable context (field errors, file/line/element of a definition).
The web layer maps the classes to HTTP status codes.
"""
from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else {}

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class DefinitionError(EngineError):
    """A BPMN file or form cannot be deployed; details list each problem."""

    code = "invalid_definition"


class NotFoundError(EngineError):
    code = "not_found"


class PermissionDeniedError(EngineError):
    code = "permission_denied"


class AuthenticationError(EngineError):
    code = "unauthenticated"


class ConflictError(EngineError):
    """The state changed under the caller (task already claimed, completed...)."""

    code = "conflict"


class ValidationError(EngineError):
    """A request is malformed (unknown parameter, bad value)."""

    code = "bad_request"


class FormValidationError(EngineError):
    """Submitted data does not satisfy a form; details map field -> messages."""

    code = "invalid_data"


class ScriptError(EngineError):
    """A script or condition failed, was refused by the sandbox or ran too long."""

    code = "script_error"


class ScriptTimeoutError(ScriptError):
    code = "script_timeout"


class TooManyRequestsError(EngineError):
    """Too many failed sign-ins for a user name or from an address; ``details["retry_after"]`` is the
    number of seconds until the next attempt is accepted (HTTP 429 with ``Retry-After``)."""

    code = "too_many_requests"


class UnsupportedMediaTypeError(EngineError):
    """A request body in a media type the endpoint does not take (the API takes ``application/json``;
    HTTP 415). Refusing form and plain-text bodies keeps cross-site forms from driving the API."""

    code = "unsupported_media_type"


class MessageRefusedError(FormValidationError):
    """A message the engine will not deliver or start with (HTTP 422): its data names variables the
    catching element does not declare (``details["refused"]``), or the instance cannot catch it (its
    correlation fails, ``details["reason"]``). Nothing was kept, delivered or started."""

    code = "message_refused"
