"""Which failures mean "the drill could not run" rather than "the drill found a problem".

A breached objective or a DR finding (a disabled DR key, a missing snapshot)
is a drill *failure*. Missing credentials, AccessDenied, throttling that
outlasted every retry, or an unreachable endpoint mean the drill could not
run: those are *errors*, reported apart so nobody mistakes them for findings.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

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


ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "UnauthorizedException"}
)


class InfrastructureError(Exception):
    """drtool could not run a drill: credentials, endpoint, permissions or an unusable environment."""


class ResourceVanished(InfrastructureError):
    """Something this run created was deleted under it (a cleanup, a person): what it measured is not a drill."""


_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


def error_code(exc: BaseException) -> str | None:
    if not isinstance(exc, ClientError):
        return None
    err = exc.response.get("Error", {})
    code = err.get("Code")
    # An XML error body where botocore expected JSON leaves it only the HTTP status as the code; the body still says.
    if code and code.isdigit() and (found := _XML_CODE.search(err.get("Message") or "")):
        return found.group(1)
    return code


def error_message(exc: ClientError) -> str:
    message = exc.response.get("Error", {}).get("Message") or "no message"
    found = _XML_MESSAGE.search(message)
    return found.group(1) if found else message


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
        op = getattr(exc, "operation_name", "call")
        return f"{op}: {error_code(exc) or 'Error'}: {error_message(exc)}"
    if isinstance(exc, InfrastructureError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def is_access_denied(exc: BaseException) -> bool:
    """AWS refused the caller (not drtool's own guard, which refuses before a call leaves the process)."""
    if not isinstance(exc, ClientError):
        return False
    code = error_code(exc)
    # Some endpoints answer a refusal in a body botocore cannot parse: then the code is the HTTP status. A credentials
    # problem is also a 403, but it names itself, and it proves nothing about access.
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ACCESS_DENIED_CODES or (status == 403 and code not in INFRASTRUCTURE_ERROR_CODES)


# --- unexpected AWS errors, as findings ---------------------------------------------
#
# An AWS error inside a step that is not about credentials or limits says the DR
# set-up is wrong: a subnet group that does not exist, a disabled key. It is
# reported as one sentence naming what failed, where, and the remedy.

CALL_KEY = "DrtoolCall"

# (pattern over the error code, remedy); families add their own, more precise ones.
GENERAL_REMEDIES: tuple[tuple[str, str], ...] = (
    (r"KMS|^Disabled|KeyUnavailable|InvalidKeyUsage", "make the key usable in {region}: enabled, and open to the drill's role"),
    (r"Quota|LimitExceeded", "raise the quota in {region} (Service Quotas), or remove what uses it up"),
    (r"NotFound|NoSuch", "create it in {region}, or correct the drill file to name one that exists"),
    (r"InvalidParameter|Validation", "correct the drill file's settings for this target"),
)


def remember_call_region(client: Any, service: str, region: str) -> None:
    """A client hook: an AWS error keeps the service and region of the call, for the sentence that reports it."""

    def annotate(parsed: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if isinstance(parsed, dict) and "Error" in parsed:
            parsed[CALL_KEY] = {"service": service, "region": region}

    client.meta.events.register("after-call", annotate)


def aws_error_sentence(exc: ClientError, remedies: Mapping[str, str] | None = None) -> str:
    """One sentence: the call, its region, AWS's own words, and what to do about it."""
    code = error_code(exc) or "Error"
    region = exc.response.get(CALL_KEY, {}).get("region", "")
    where = f" in {region}" if region else ""
    remedy = (remedies or {}).get(code) or next(
        (text for pattern, text in GENERAL_REMEDIES if re.search(pattern, code)),
        "check the drill file's settings for this target against what exists{where}",
    )
    message = error_message(exc).rstrip(".")
    return f"{exc.operation_name}{where} failed with {code}: {message}. Remedy: {remedy.format(region=region or 'the region', where=where)}."
