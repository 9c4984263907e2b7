"""Which failures mean "the drill could not run" rather than "the drill found a problem".

A breached objective or a DR finding (a disabled DR key, a missing snapshot)
is a drill *failure*. Missing credentials, AccessDenied, throttling that
outlasted every retry, or an unreachable endpoint mean the drill could not
run: those are *errors*, reported apart so nobody mistakes them for findings.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

INFRASTRUCTURE_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "AuthorizationError",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidClientTokenId",
        "MissingAuthenticationToken",
        "OptInRequired",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
    }
)


class InfrastructureError(Exception):
    """drtool could not run a drill: credentials, endpoint, permissions or an unusable environment."""


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def is_infrastructure_error(exc: BaseException) -> bool:
    if isinstance(exc, InfrastructureError):
        return True
    if isinstance(exc, ClientError):
        # HTTP 403 is "forbidden" whatever the code says (some endpoints answer AccessDenied in a body botocore cannot parse).
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_code(exc) in INFRASTRUCTURE_ERROR_CODES or status == 403
    return isinstance(
        exc,
        (
            NoCredentialsError,
            PartialCredentialsError,
            CredentialRetrievalError,
            TokenRetrievalError,
            ProfileNotFound,
            NoRegionError,
            BotoConnectionError,
        ),
    ) or (isinstance(exc, BotoCoreError) and "endpoint" in str(exc).lower())


def describe_error(exc: BaseException) -> str:
    """One line, without traceback noise, that says what AWS (or botocore) refused."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "call")
        return f"{op}: {err.get('Code', 'Error')}: {err.get('Message') or 'no message'}"
    if isinstance(exc, InfrastructureError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
