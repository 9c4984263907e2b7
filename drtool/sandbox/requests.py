"""The lab's record of every mutating request it receives, from any client.

A WSGI middleware in front of moto reads each request as AWS would route it:
the service, region and caller from the SigV4 credential scope, the operation
from the query `Action`, the JSON `X-Amz-Target` or the S3 method and path, and
the resources the operation changes. Reads are not kept. The log is what tests
use to prove, by name, that a drill never changed production.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qs
from xml.etree import ElementTree

from drtool.core.guard import is_read
from drtool.core.tagging import CANARY_PREFIX

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z]+)$")
_VERB = re.compile(r"^[A-Z][a-z]+")
# "RestoreDBInstanceFromDBSnapshot" changes a DBInstance; what follows From/To/For only feeds it.
_NOUN_END = re.compile(r"(?:From|To|For|With)(?=[A-Z])")
_IDENTIFYING_SUFFIXES = ("Identifier", "Id", "Ids", "Name", "Names", "Arn", "ARN", "Resources")
# Query subresources that name an S3 operation; anything else in the query is a plain parameter.
_S3_SUBRESOURCES = (
    "acl", "analytics", "accelerate", "cors", "delete", "encryption", "intelligent-tiering", "inventory",
    "legal-hold", "lifecycle", "logging", "metrics", "notification", "object-lock", "ownershipControls", "partNumber",
    "policy", "publicAccessBlock", "replication", "requestPayment", "restore", "retention", "select", "tagging",
    "uploadId", "uploads", "versioning", "website",
)
UNKNOWN_TARGET = "<unreadable request>"
_SERVICE_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}


@dataclass(frozen=True)
class RecordedRequest:
    """One mutating request as the lab received it. `targets` are the resources it changes, by name."""

    seq: int
    at: datetime  # world time
    service: str
    region: str
    operation: str
    targets: tuple[str, ...]
    caller: str  # the access key id that signed it
    status: int = 0  # the HTTP status the lab answered with

    def __str__(self) -> str:
        return (f"#{self.seq} {self.service}:{self.operation} in {self.region} on {', '.join(self.targets) or 'nothing named'} "
                f"by {self.caller} at {self.at:%H:%M:%S} -> HTTP {self.status}")


class RequestLog:
    """Append-only and thread-safe: moto's server answers requests on many threads."""

    def __init__(self) -> None:
        self._records: list[RecordedRequest] = []
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        """Pass to `since` to see only what came after this moment."""
        with self._lock:
            return len(self._records)

    def since(self, position: int = 0) -> list[RecordedRequest]:
        with self._lock:
            return self._records[position:]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def append(self, make: Callable[[int], RecordedRequest]) -> RecordedRequest:
        with self._lock:
            record = make(len(self._records) + 1)
            self._records.append(record)
            return record

    def set_status(self, record: RecordedRequest, status: int) -> None:
        with self._lock:
            index = record.seq - 1
            if index < len(self._records) and self._records[index] is record:
                self._records[index] = RecordedRequest(**{**record.__dict__, "status": status})


def touches(records: Iterable[RecordedRequest], production: "ProductionNames") -> list[RecordedRequest]:
    """The requests whose targets name a production resource (or could not be read, which counts as one)."""
    return [record for record in records if any(production.contains(record.service, t) for t in record.targets)]


@dataclass(frozen=True)
class ProductionNames:
    """Names (ids, ARNs, aliases) of everything in the world that a drill did not create."""

    names: frozenset[str]
    buckets: frozenset[str]

    def contains(self, service: str, target: str) -> bool:
        if target == UNKNOWN_TARGET:
            return True
        if service == "s3":
            bucket, _, key = target.partition("/")
            return bucket in self.buckets and not (key and key.startswith(CANARY_PREFIX))
        forms = {target, target.rsplit(":", 1)[-1], target.rsplit("/", 1)[-1]}
        return not forms.isdisjoint(self.names)


class RecordingMiddleware:
    """Wraps moto's WSGI app; records each mutating request and the status it was answered with."""

    def __init__(self, app: Callable[..., Iterable[bytes]], log: RequestLog, now: Callable[[], datetime]):
        self.app = app
        self.log = log
        self.now = now

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen = describe_request(environ)
        if seen is None or not seen.mutating:
            return self.app(environ, start_response)
        record = self.log.append(lambda seq: RecordedRequest(
            seq, self.now(), seen.service, seen.region, seen.operation, seen.targets, seen.caller))

        def recording_start_response(status: str, headers: Any, *args: Any) -> Any:
            self.log.set_status(record, int(status.split(" ", 1)[0]))
            return start_response(status, headers, *args)

        return self.app(environ, recording_start_response)


@dataclass(frozen=True)
class SeenRequest:
    service: str
    region: str
    operation: str
    caller: str
    mutating: bool
    targets: tuple[str, ...]


def describe_request(environ: dict[str, Any]) -> SeenRequest | None:
    """What a request does, or None for requests that are not AWS API calls (moto's own /moto-api)."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return None
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    scope = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", "") or "Credential=" + "".join(query.get("X-Amz-Credential", [])))
    if scope is None:
        return None
    caller, region, service = scope.groups()
    # The credential scope names the signing name; the guard's rules, like botocore's clients, name the service.
    service = _SERVICE_OF_SIGNING_NAME.get(service, service)
    method = environ.get("REQUEST_METHOD", "GET")
    if service == "s3":
        return _describe_s3(environ, method, path, query, region, caller)
    target_header = environ.get("HTTP_X_AMZ_TARGET", "")
    cbor = _CBOR_PATH.match(path)
    if target_header:
        operation = target_header.rsplit(".", 1)[-1]
        params = _json_params(_buffer_body(environ))
    elif cbor:  # smithy rpc-v2-cbor (CloudWatch): the body is binary, so its targets cannot be read here
        operation, params = cbor.group(1), None
    else:
        form = parse_qs(_buffer_body(environ).decode("utf-8", "replace"), keep_blank_values=True) if method == "POST" else {}
        params = {name: values[0] for name, values in {**query, **form}.items()}
        operation = params.get("Action", f"{method} {path}")
    mutating = not is_read(service, operation)
    targets = _targets(operation, params) if mutating else ()
    return SeenRequest(service, region, operation, caller, mutating, targets)


def _targets(operation: str, params: dict[str, Any] | None) -> tuple[str, ...]:
    """The resources an operation changes: the parameters naming its noun, else every identifying parameter."""
    if params is None:
        return (UNKNOWN_TARGET,)
    verb = _VERB.match(operation)
    noun = _NOUN_END.split(operation[verb.end():] if verb else operation, maxsplit=1)[0]
    candidates = [f"Target{noun}Identifier", f"New{noun}Identifier", f"{noun}Identifier", f"{noun}Id", f"{noun}Name",
                  f"{noun}Arn", f"{noun}ARN"]
    if verb and verb.group() == "Create":
        candidates.append("Name")
    named = [str(params[name]) for name in candidates if isinstance(params.get(name), str)]
    if named:
        return tuple(named)
    # Unknown shape: every identifying parameter counts, so a proof errs towards a false alarm, never a miss.
    found: list[str] = []
    for name, value in params.items():
        if not name.split(".", 1)[0].endswith(_IDENTIFYING_SUFFIXES):
            continue
        values = value if isinstance(value, list) else [value]
        found.extend(str(v) for v in values if isinstance(v, str))
    return tuple(found)


def _describe_s3(environ: dict[str, Any], method: str, path: str, query: dict[str, list[str]],
                 region: str, caller: str) -> SeenRequest:
    bucket, _, key = path.lstrip("/").partition("/")
    host = environ.get("HTTP_HOST", "").split(":", 1)[0]
    if host and not re.fullmatch(r"[\d.]+|localhost|s3[.-].*", host):  # virtual-hosted style: bucket.s3...
        bucket, key = host.split(".", 1)[0], path.lstrip("/")
    sub = next((name for name in _S3_SUBRESOURCES if name in query), "")
    mutating = method in ("PUT", "POST", "DELETE") and sub != "select"
    noun = "Object" if key else "Bucket"
    if method == "PUT" and key and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        operation = "CopyObject"
    elif method == "PUT" and not key and not sub:
        operation = "CreateBucket"
    elif method == "POST" and sub == "delete":
        operation = "DeleteObjects"
    else:
        verb = {"PUT": "Put", "POST": "Post", "DELETE": "Delete"}.get(method, method.title())
        operation = verb + noun + sub[:1].upper() + sub[1:].replace("-", "")
    targets: tuple[str, ...] = ()
    if mutating:
        if operation == "DeleteObjects":
            targets = tuple(f"{bucket}/{name}" for name in _deleted_keys(_buffer_body(environ))) or (UNKNOWN_TARGET,)
        else:
            targets = (f"{bucket}/{key}" if key else bucket,)
    return SeenRequest("s3", region, operation, caller, mutating, targets)


def _deleted_keys(body: bytes) -> Iterator[str]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "Key" and element.text:
            yield element.text


def _json_params(body: bytes) -> dict[str, Any] | None:
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def _buffer_body(environ: dict[str, Any]) -> bytes:
    """Read the body and put it back, so moto still reads it whole."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body
