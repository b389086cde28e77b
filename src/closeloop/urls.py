"""Passwords in database URLs never reach a terminal or a log.

A URL such as ``postgresql+psycopg://app:s3cret@db/ops`` or ``mysql://root:pw@host/db``
appears in settings, in error messages (a driver that is missing, a port that is wrong)
and in the messages of third-party exceptions we wrap. :func:`mask_urls` replaces the
password of every URL in a text with ``***``; the CLI passes every error message through
it, and :class:`MaskingFilter` does the same for log records.
"""

from __future__ import annotations

import logging
import re

# scheme://user:password@ — the scheme as RFC 3986 allows (letters, digits, + - .); the
# password runs to the last '@' before the host (passwords may hold '@' when unencoded).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<pw>[^\s'\"]*)@(?=[^\s@'\"]*)")


def mask_urls(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL shown as ``***``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@", text)


def install_log_masking() -> None:
    """Mask URL passwords in every log record made from now on, whichever logger or handler.

    A record factory is the one hook every record passes through (a filter on a logger
    misses its children's records; one on handlers misses handlers added later).
    """
    base = logging.getLogRecordFactory()
    if getattr(base, "_closeloop_masking", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base(*args, **kwargs)
        MaskingFilter().filter(record)
        return record

    factory._closeloop_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class MaskingFilter(logging.Filter):
    """A logging filter that masks URL passwords in each record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_urls(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
