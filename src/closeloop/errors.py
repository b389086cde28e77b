"""closeloop's one exception hierarchy.

Every error the core raises is a :class:`CloseloopError`, so the edges (CLI, HTTP) can
turn any of them into a one-line message and an exit status without catching
third-party exceptions. Third-party errors are mapped at the adapter boundary with
``raise OurError(...) from exc``.

::

    CloseloopError
    ├── ConfigError            workspace or settings missing / invalid      (exit 2)
    │   └── ScenarioError      a scenario, playbook or contract file is wrong
    ├── InputError(ValueError) a file or argument the user gave cannot be used (exit 2)
    │   └── SchemaError        a file lacks required columns / is the wrong kind
    ├── StorageError           the warehouse or operational store failed    (exit 3)
    ├── SimulationError        the simulator could not run a valid scenario (exit 4)
    └── EmptySelectionError    a query selected nothing to report on        (exit 1)

Third-party failures are turned into these in one place, :func:`map_errors` (as httpx's
``map_exceptions``): a use-case wraps its storage work in ``with map_errors("what"):`` instead
of an ``except`` block per call site.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


class CloseloopError(Exception):
    """Base of every error closeloop raises on purpose."""

    exit_code: int = 1


class ConfigError(CloseloopError):
    """The workspace or one of its settings is missing or invalid."""

    exit_code = 2


class ScenarioError(ConfigError):
    """A TOML file the user wrote (scenario, playbook, contract) has a mistake.

    The message names the file, the key and the problem.
    """

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = path, key, problem
        super().__init__(f"{path}: {key}: {problem}")


class InputError(ValueError, CloseloopError):
    """A file or argument the user supplied cannot be used as given."""

    exit_code = 2


class SchemaError(InputError):
    """A data file is not of the kind it was said to be (missing required columns...)."""


class StorageError(CloseloopError):
    """The warehouse or the operational store failed."""

    exit_code = 3


class SimulationError(CloseloopError):
    """A valid scenario could not be simulated."""

    exit_code = 4


class EmptySelectionError(CloseloopError):
    """A query or filter selected no rows, so there is nothing to report."""

    exit_code = 1


#: Modules whose exceptions mean the storage (warehouse or operational store) failed.
_STORAGE_MODULES = ("duckdb", "sqlalchemy", "psycopg", "sqlite3", "_duckdb")

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")


def mask_secrets(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    >>> mask_secrets("cannot connect to postgresql+psycopg://app:s3cret@db:5432/x")
    'cannot connect to postgresql+psycopg://app:***@db:5432/x'
    """
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a database driver closeloop stores data with."""
    return any(type(exc).__module__.startswith(m) for m in _STORAGE_MODULES)


@contextmanager
def map_errors(what: str) -> Iterator[None]:
    """Raise closeloop's own error for a database driver's failure inside the block.

    Our own errors pass through unchanged; a driver error (DuckDB, SQLAlchemy, psycopg,
    sqlite3) becomes :class:`StorageError` naming ``what`` failed, with any password masked.
    Other exceptions are bugs and pass through so they are seen.
    """
    try:
        yield
    except CloseloopError:
        raise
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"{what} failed: {mask_secrets(first)}") from exc
