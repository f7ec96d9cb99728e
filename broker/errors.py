# SPDX-License-Identifier: EUPL-1.2
"""The NGSI-LD error types (ETSI GS CIM 009 v1.9.1, clause 5.5.2 and table 5.5.3-1) as one class tree.

Every error the core raises is one of these; the API layer turns any of them into a
ProblemDetails body (RFC 7807) with the spec's type URI, a title and a safe detail.

    NgsiLdError
    ├── InvalidRequest            400  malformed request (bad JSON, unknown parameter, ...)
    │   ├── NotAcceptable         406  no acceptable media type in Accept
    │   ├── UnsupportedMediaType  415  Content-Type not supported by the operation
    │   ├── LengthRequired        411  write without Content-Length
    │   ├── PayloadTooLarge       413  body over the configured limit
    │   └── MethodNotAllowed      405  path exists, method does not
    ├── BadRequestData            400  well-formed request, wrong content
    ├── AlreadyExists             409
    ├── OperationNotSupported     422
    ├── ResourceNotFound          404
    ├── NonexistentTenant         404
    ├── TooComplexQuery           403
    ├── TooManyResults            403
    ├── LdContextNotAvailable     504  (v1.9 table; versions before 1.9 said 503)
    ├── ServiceUnavailable        503  the store is unreachable (InternalError type)
    └── InternalError             500

406, 415, 411, 413 and 405 have no error type of their own in the spec; they carry the
InvalidRequest type URI with their own HTTP status and title.
"""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_TYPE_BASE = "https://uri.etsi.org/ngsi-ld/errors/"


class NgsiLdError(Exception):
    """Base of all errors that reach a client. `detail` is shown to the user; never put secrets in it."""

    error_type: ClassVar[str] = "InternalError"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500

    def __init__(
        self, detail: str = "", *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def type_uri(self) -> str:
        return ERROR_TYPE_BASE + self.error_type

    def problem_details(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type_uri, "title": self.title, "detail": self.detail}
        body.update(self.extra)
        return body


class InvalidRequest(NgsiLdError):
    error_type = "InvalidRequest"
    title = "Invalid request"
    status = 400


class NotAcceptable(InvalidRequest):
    title = "Not acceptable"
    status = 406


class UnsupportedMediaType(InvalidRequest):
    title = "Unsupported media type"
    status = 415


class LengthRequired(InvalidRequest):
    title = "Length required"
    status = 411


class PayloadTooLarge(InvalidRequest):
    title = "Payload too large"
    status = 413


class MethodNotAllowed(InvalidRequest):
    title = "Method not allowed"
    status = 405


class BadRequestData(NgsiLdError):
    error_type = "BadRequestData"
    title = "Bad request data"
    status = 400


class AlreadyExists(NgsiLdError):
    error_type = "AlreadyExists"
    title = "Already exists"
    status = 409


class OperationNotSupported(NgsiLdError):
    error_type = "OperationNotSupported"
    title = "Operation not supported"
    status = 422


class ResourceNotFound(NgsiLdError):
    error_type = "ResourceNotFound"
    title = "Resource not found"
    status = 404


class NonexistentTenant(NgsiLdError):
    error_type = "NonexistentTenant"
    title = "Nonexistent tenant"
    status = 404


class TooComplexQuery(NgsiLdError):
    error_type = "TooComplexQuery"
    title = "Too complex query"
    status = 403


class TooManyResults(NgsiLdError):
    error_type = "TooManyResults"
    title = "Too many results"
    status = 403


class LdContextNotAvailable(NgsiLdError):
    error_type = "LdContextNotAvailable"
    title = "JSON-LD @context not available"
    status = 504


class InternalError(NgsiLdError):
    error_type = "InternalError"
    title = "Internal error"
    status = 500


class ServiceUnavailable(InternalError):
    title = "Service unavailable"
    status = 503


__all__ = [
    "ERROR_TYPE_BASE",
    "NgsiLdError",
    "InvalidRequest",
    "NotAcceptable",
    "UnsupportedMediaType",
    "LengthRequired",
    "PayloadTooLarge",
    "MethodNotAllowed",
    "BadRequestData",
    "AlreadyExists",
    "OperationNotSupported",
    "ResourceNotFound",
    "NonexistentTenant",
    "TooComplexQuery",
    "TooManyResults",
    "LdContextNotAvailable",
    "InternalError",
    "ServiceUnavailable",
]
