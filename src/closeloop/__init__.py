"""closeloop: observe, explain, decide and simulate phone sales and care operations.

The public API is what ``__all__`` lists; everything else may change.
"""

from closeloop.errors import (
    CloseloopError,
    ConfigError,
    EmptySelectionError,
    InputError,
    ScenarioError,
    SchemaError,
    SimulationError,
    StorageError,
)
from closeloop.model import AGENTS, CALLS, CENTERS, LEADS, RECORDS, TRANSCRIPT_TURNS, CallType, Direction, Outcome
from closeloop.settings import Settings, init_workspace, load_settings
from closeloop.warehouse import Warehouse, open_warehouse

__version__ = "0.1.0"

__all__ = [
    "AGENTS",
    "CALLS",
    "CENTERS",
    "LEADS",
    "RECORDS",
    "TRANSCRIPT_TURNS",
    "CallType",
    "CloseloopError",
    "ConfigError",
    "Direction",
    "EmptySelectionError",
    "InputError",
    "Outcome",
    "ScenarioError",
    "SchemaError",
    "Settings",
    "SimulationError",
    "StorageError",
    "Warehouse",
    "__version__",
    "init_workspace",
    "load_settings",
    "open_warehouse",
]
