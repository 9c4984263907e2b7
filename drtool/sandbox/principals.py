"""Who is calling: the principal behind a request's SigV4 access key, for the services that judge it themselves.

KMS and Secrets Manager decide with the caller's identity (a key policy names
principals), even where moto's IAM enforcement is off. A service model wraps its
response class's `call_action` with `calling_patch`: for the length of the call
`current_request()` tells the backend who asked and for which operation. Calls
made in-process (the seed, the world thread) have no request, and are not judged.

An access key issued by STS AssumeRole is the assumed role's session; an IAM
user's key is that user; any other key (the lab's default `testing`) is the
account's administrator.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any, Callable

from moto.iam.access_control import IAMPolicy
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from drtool.sandbox.patches import Patch, wrap_method

PARTITION = "aws"


@dataclass(frozen=True)
class Caller:
    """A request's principal. `arn` is how AWS names it in an error; `names` are the forms a policy may name."""

    account: str
    arn: str
    role_arn: str | None = None  # an assumed role's role ARN
    user_name: str | None = None
    admin: bool = False  # the lab's default credentials: the account's administrator

    @property
    def root(self) -> str:
        return f"arn:{PARTITION}:iam::{self.account}:root"

    @property
    def names(self) -> frozenset[str]:
        """ARNs a policy's Principal may use to name exactly this caller."""
        found = {self.arn}
        if self.role_arn:
            found.add(self.role_arn)
        if self.admin:
            found.add(self.root)
        return frozenset(found)

    def identity_policies(self) -> list[dict[str, Any]]:
        """The caller's IAM policy documents (inline and attached; a user's groups' too). The administrator has none:
        it is allowed whatever IAM says."""
        iam = iam_backends[self.account][PARTITION]
        documents: list[Any] = []
        if self.role_arn:
            role_name = self.role_arn.rsplit("/", 1)[-1]
            try:
                documents += [iam.get_role_policy(role_name, name)[1] for name in iam.list_role_policies(role_name)]
                documents += iam.list_attached_role_policies(role_name)[0]
            except Exception:  # the role was deleted after it was assumed: it has no policies any more
                return []
        elif self.user_name:
            user = self.user_name
            documents += [iam.get_user_policy(user, name) for name in iam.list_user_policies(user)]
            documents += iam.list_attached_user_policies(user)[0]
            for group in iam.get_groups_for_user(user):
                documents += [iam.get_group_policy(group.name, name) for name in iam.list_group_policies(group.name)]
                documents += iam.list_attached_group_policies(group.name)[0]
        return [IAMPolicy(document)._policy_json for document in documents]


@dataclass(frozen=True)
class RequestContext:
    caller: Caller
    operation: str  # the API operation, e.g. "GenerateDataKey"
    region: str


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("drtool_sandbox_request", default=None)


def current_request() -> RequestContext | None:
    """The API request being served on this thread, or None for an in-process call."""
    return _current.get()


def identify(access_key_id: str, account: str) -> Caller:
    for assumed in sts_backends[account][PARTITION].assumed_roles:
        if assumed.access_key_id == access_key_id:
            role_name = assumed.role_arn.rsplit("/", 1)[-1]
            return Caller(account, f"arn:{PARTITION}:sts::{account}:assumed-role/{role_name}/{assumed.session_name}",
                          role_arn=assumed.role_arn)
    for user in iam_backends[account][PARTITION].users.values():
        if any(key.access_key_id == access_key_id for key in user.access_keys):
            return Caller(account, user.arn, user_name=user.name)
    return Caller(account, f"arn:{PARTITION}:iam::{account}:root", admin=True)


def calling_patch(response_class: type) -> Patch:
    """Wrap a moto response class's `call_action` so its backend sees `current_request()`."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def call_action(response: Any) -> Any:
            caller = identify(response.get_access_key(), response.current_account)
            token = _current.set(RequestContext(caller, response._get_action(), response.region))
            try:
                return original(response)
            finally:
                _current.reset(token)

        return call_action

    return wrap_method(response_class, "call_action", make)
