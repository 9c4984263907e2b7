"""Secret values, credentials and tokens scrubbed from botocore's and urllib3's log records, while a drill runs.

botocore logs request and response bodies and signing details at DEBUG (GetSecretValue's SecretString,
AssumeRole's SecretAccessKey and SessionToken, the Authorization header). A logger's filter does not see its
children's records, and a handler's covers only that handler, so the scrubbing is done where every record is
made: a LogRecord factory, whatever handler pytest or the user attaches later.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable

REDACTED = "<redacted>"
SCRUBBED_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")
_NAMES = (r"SecretString|SecretBinary|SecretAccessKey|SessionToken|Authorization|X-Amz-Security-Token|X-Amz-Signature"
          r"|Plaintext|\w*Password")
# "Key": "value" / 'Key': b'value', quotes possibly escaped (JSON inside a bytes repr), value up to its own quote.
_QUOTED = re.compile(
    rf"(?P<key>(?P<kq>\\*[\"'])(?:{_NAMES})(?P=kq)\s*:\s*b?)(?P<bs>\\*)(?P<q>[\"'])(?P<value>.*?)(?<!\\)(?P=bs)(?P=q)",
    re.IGNORECASE | re.DOTALL)
_XML = re.compile(rf"<(?P<tag>{_NAMES})>[^<]*</(?P=tag)>", re.IGNORECASE)
# key=value (query strings, form bodies) and key:value (canonical request header lines).
_BARE = re.compile(rf"(?P<key>\b(?:{_NAMES})\s*[=:]\s*)(?![\s\"'\\])(?P<value>[^\s&,;'\"<>}}]+)", re.IGNORECASE)


def redact(text: str) -> str:
    text = _QUOTED.sub(lambda m: f"{m['key']}{m['bs']}{m['q']}{REDACTED}{m['bs']}{m['q']}", text)
    text = _XML.sub(lambda m: f"<{m['tag']}>{REDACTED}</{m['tag']}>", text)
    return _BARE.sub(lambda m: f"{m['key']}{REDACTED}", text)


_lock = threading.Lock()


class LogRedaction:
    def __init__(self) -> None:
        self._previous: Callable[..., logging.LogRecord] | None = None
        self.active = False

    def install(self) -> "LogRedaction":
        with _lock:
            previous = self._previous = logging.getLogRecordFactory()
            self.active = True

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                if self.active and record.name.split(".", 1)[0] in SCRUBBED_LOGGERS:
                    try:
                        message = record.getMessage()
                    except Exception:  # a broken format string is logging's to report
                        return record
                    record.msg, record.args = redact(message), ()
                return record

            self._factory = factory
            logging.setLogRecordFactory(factory)
        return self

    def remove(self) -> None:
        with _lock:
            self.active = False
            # Restore only if nobody wrapped ours since; otherwise ours stays in the chain, inactive.
            if self._previous is not None and logging.getLogRecordFactory() is self._factory:
                logging.setLogRecordFactory(self._previous)
