"""Typed workspace settings, read once at the entry point and passed down.

A workspace is a folder holding ``closeloop.toml`` and the embedded databases. Nothing
here is a module-level singleton, so tests can make as many workspaces as they like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from closeloop.errors import ConfigError
from closeloop.leads.attribute_rules import AttributeRule, parse_rules

CONFIG_NAME = "closeloop.toml"

DEFAULT_CONFIG = """\
# closeloop workspace settings. Every command run in this folder (or with
# --workspace pointing here) uses them. Paths are relative to this folder.

[warehouse]
# Where analytical data lives. duckdb:///FILE is the embedded default.
url = "duckdb:///warehouse.duckdb"
# Most memory the embedded database may use before it spills to disk (e.g. "1GB", "8GB").
memory_limit = "1GB"
# One process writes the warehouse at a time; others wait this long for it, then give up.
lock_timeout_s = 60

[ops]
# Operational store (lead queues, follow-ups). sqlite:///FILE by default;
# postgresql+psycopg://user:pass@host/db for a real deployment.
url = "sqlite:///ops.sqlite"

[ingest]
# Time zone for offset-less timestamps whose center is unknown (IANA name).
default_timezone = "{timezone}"
# Plausibility window: a row with a timestamp before `earliest` or more than
# `latest_years_ahead` years after today is rejected (a mistyped year, 9999 or 0001).
earliest = "1990-01-01"
latest_years_ahead = 2

[metrics]
# Service level: share of calls answered within this many seconds.
service_level_threshold_s = 20
# Abandons within this many seconds are "short abandons" and excluded from SL by default.
short_abandon_s = 5
# How abandons count in service level: "exclude_short" | "include_all" | "exclude_all".
service_level_abandons = "exclude_short"
# Repeat contact within this many days counts against first-contact resolution.
repeat_contact_days = 7

# Extra columns of leads files (see docs/leads.md): rename, retype, exclude, or say when known.
# [leads.attributes.duration]
# known_at = "after_call"      # creation | event | after_call (never a feature)
# [leads.attributes.tos]
# rename = "time_on_site_min"
# type = "number"              # number | category | boolean | time | text
"""


@dataclass(frozen=True)
class MetricSettings:
    """Conventions every metric states (see docs/metrics.md)."""

    service_level_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    service_level_abandons: str = "exclude_short"
    repeat_contact_days: int = 7


@dataclass(frozen=True)
class Settings:
    """A workspace's settings, validated at load."""

    root: Path
    warehouse_url: str = "duckdb:///warehouse.duckdb"
    warehouse_memory_limit: str | None = None
    warehouse_lock_timeout_s: float = 60.0
    #: False in the web server: its DuckDB connections can read no file, URL or extension.
    warehouse_external_access: bool = True
    ops_url: str = "sqlite:///ops.sqlite"
    default_timezone: str = "UTC"
    metrics: MetricSettings = field(default_factory=MetricSettings)
    earliest: date = date(1990, 1, 1)
    latest_years_ahead: int = 2
    # [leads.attributes.COLUMN]: rename / retype / exclude / known_at of a leads file's extra column
    lead_attributes: dict[str, AttributeRule] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        """The workspace's config file."""
        return self.root / CONFIG_NAME

    def warehouse_path(self) -> Path:
        """The DuckDB file behind a ``duckdb:///`` URL, relative to the workspace."""
        prefix = "duckdb:///"
        if not self.warehouse_url.startswith(prefix):
            raise ConfigError(f"{self.config_path}: warehouse.url: only duckdb:/// URLs are supported so far")
        path = Path(self.warehouse_url[len(prefix):])
        return path if path.is_absolute() else self.root / path

    def resolved_ops_url(self) -> str:
        """The ops URL with a relative SQLite path made absolute against the workspace."""
        prefix = "sqlite:///"
        if self.ops_url.startswith(prefix) and not self.ops_url[len(prefix):].startswith("/"):
            return prefix + str(self.root / self.ops_url[len(prefix):])
        return self.ops_url


def check_timezone(name: str, where: str) -> str:
    """Return ``name`` if it is a known IANA zone, else raise ConfigError naming ``where``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: unknown IANA time zone {name!r} (use a name like 'Europe/Paris')") from exc
    return name


def init_workspace(root: Path, timezone: str = "UTC", force: bool = False) -> Settings:
    """Create a workspace folder with its config file; refuse to overwrite one."""
    check_timezone(timezone, "--timezone")
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / CONFIG_NAME
    if cfg.exists() and not force:
        raise ConfigError(f"{cfg} already exists: this folder is already a workspace")
    cfg.write_text(DEFAULT_CONFIG.format(timezone=timezone), encoding="utf-8")
    return load_settings(root)


def find_workspace(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding closeloop.toml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ConfigError(
        f"no closeloop workspace at or above {start}: run 'closeloop init' or pass --workspace"
    )


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseTable(_Table):
    """``[warehouse]``: where analytical data lives."""

    url: str = Field("duckdb:///warehouse.duckdb", description="duckdb:///FILE (embedded default, relative to "
                     "the workspace)")
    memory_limit: str | None = Field(None, description="Most memory the embedded database may use, e.g. '1GB'")
    lock_timeout_s: float = Field(60.0, ge=0, description="How long a second writer (or a reader) waits for the "
                                  "warehouse before giving up")


class OpsTable(_Table):
    """``[ops]``: the operational store (queues, follow-ups)."""

    url: str = Field("sqlite:///ops.sqlite", description="sqlite:///FILE by default; "
                     "postgresql+psycopg://user:pass@host/db for a real deployment")


class IngestTable(_Table):
    """``[ingest]``: how files are read."""

    default_timezone: str = Field("UTC", description="IANA zone of offset-less timestamps whose center is unknown")
    earliest: date = Field(date(1990, 1, 1), description="Timestamps before this day are rejected as implausible")
    latest_years_ahead: int = Field(2, ge=0, le=100, description="Timestamps more than this many years after "
                                    "today are rejected as implausible")


class MetricsTable(_Table):
    """``[metrics]``: the conventions every metric states (docs/metrics.md)."""

    service_level_threshold_s: float = Field(20.0, ge=0, description="Answered within this many seconds counts "
                                             "toward service level")
    short_abandon_s: float = Field(5.0, ge=0, description="Abandons within this many seconds are short abandons")
    service_level_abandons: Literal["exclude_short", "include_all", "exclude_all"] = Field(
        "exclude_short", description="How abandons count in service level")
    repeat_contact_days: int = Field(7, ge=0, description="A repeat contact within this many days counts against "
                                     "first-contact resolution")


class AttributeTable(_Table):
    """``[leads.attributes.COLUMN]``: how one extra column of a leads file is read (docs/leads.md)."""

    rename: str | None = Field(None, min_length=1, description="Name it this instead")
    type: Literal["number", "category", "boolean", "time", "text"] | None = Field(
        None, description="Its type instead of the inferred one")
    exclude: bool = Field(False, description="Never load it as an attribute")
    known_at: Literal["creation", "event", "after_call"] | None = Field(
        None, description="When its value is known: after_call never becomes a feature")


class LeadsTable(_Table):
    """``[leads]``: the lead pipeline."""

    attributes: dict[str, AttributeTable] = {}


class SettingsFile(_Table):
    """closeloop.toml: a workspace's settings (``closeloop schema settings``)."""

    warehouse: WarehouseTable = WarehouseTable()
    ops: OpsTable = OpsTable()
    ingest: IngestTable = IngestTable()
    metrics: MetricsTable = MetricsTable()
    leads: LeadsTable = LeadsTable()


def load_settings(root: Path) -> Settings:
    """Read and validate ``root/closeloop.toml`` (one message naming the key on any mistake)."""
    from closeloop.config import read_toml, validate

    cfg = root / CONFIG_NAME
    try:
        text = cfg.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{cfg}: not found; run 'closeloop init {root}'") from exc
    except OSError as exc:
        raise ConfigError(f"{cfg}: cannot read ({exc.strerror or exc})") from exc
    data = validate(SettingsFile, read_toml(text, str(cfg)), str(cfg))
    tz = check_timezone(data.ingest.default_timezone, f"{cfg}: ingest.default_timezone")
    attributes = parse_rules({k: v.model_dump(exclude_none=True) for k, v in data.leads.attributes.items()},
                             str(cfg))
    return Settings(
        root=root.resolve(),
        warehouse_url=data.warehouse.url,
        warehouse_memory_limit=data.warehouse.memory_limit,
        warehouse_lock_timeout_s=data.warehouse.lock_timeout_s,
        ops_url=data.ops.url,
        default_timezone=tz,
        metrics=MetricSettings(**data.metrics.model_dump()),
        earliest=data.ingest.earliest,
        latest_years_ahead=data.ingest.latest_years_ahead,
        lead_attributes=attributes,
    )
