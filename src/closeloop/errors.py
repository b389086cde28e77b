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
"""

from __future__ import annotations


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
