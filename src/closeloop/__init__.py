"""closeloop: observe, explain, decide and simulate phone sales and care operations.

The public API is what ``__all__`` lists; everything else may change. Start here::

    import closeloop
    ws = closeloop.open("demo-workspace")      # or closeloop.init("folder")
    ws.scorecard(by=["vendor"], grain="week").to_pandas()
    closeloop.staff(calls_per_hour=240, aht_s=360, target=0.8, threshold_s=20)
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
from closeloop.results import Column, Result, Schema
from closeloop.settings import Settings, init_workspace, load_settings
from closeloop.warehouse import Warehouse, open_warehouse
from closeloop.workspace import Workspace, init, open
from closeloop.workspace.simulation import simulate, staff

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
    "Column",
    "ConfigError",
    "Direction",
    "EmptySelectionError",
    "InputError",
    "Outcome",
    "Result",
    "ScenarioError",
    "Schema",
    "SchemaError",
    "Settings",
    "SimulationError",
    "StorageError",
    "Warehouse",
    "Workspace",
    "__version__",
    "init",
    "init_workspace",
    "load_settings",
    "open",
    "open_warehouse",
    "simulate",
    "staff",
]
