"""Typed workspace settings, read once at the entry point and passed down.

A workspace is a folder holding ``closeloop.toml`` and the embedded databases. Nothing
here is a module-level singleton, so tests can make as many workspaces as they like.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from closeloop.errors import ConfigError

CONFIG_NAME = "closeloop.toml"

DEFAULT_CONFIG = """\
# closeloop workspace settings. Every command run in this folder (or with
# --workspace pointing here) uses them. Paths are relative to this folder.

[warehouse]
# Where analytical data lives. duckdb:///FILE is the embedded default.
url = "duckdb:///warehouse.duckdb"
# Most memory the embedded database may use before it spills to disk (e.g. "1GB", "8GB").
memory_limit = "1GB"

[ops]
# Operational store (lead queues, follow-ups). sqlite:///FILE by default;
# postgresql+psycopg://user:pass@host/db for a real deployment.
url = "sqlite:///ops.sqlite"

[ingest]
# Time zone for offset-less timestamps whose center is unknown (IANA name).
default_timezone = "{timezone}"

[metrics]
# Service level: share of calls answered within this many seconds.
service_level_threshold_s = 20
# Abandons within this many seconds are "short abandons" and excluded from SL by default.
short_abandon_s = 5
# How abandons count in service level: "exclude_short" | "include_all" | "exclude_all".
service_level_abandons = "exclude_short"
# Repeat contact within this many days counts against first-contact resolution.
repeat_contact_days = 7
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
    #: False in the web server: its DuckDB connections can read no file, URL or extension.
    warehouse_external_access: bool = True
    ops_url: str = "sqlite:///ops.sqlite"
    default_timezone: str = "UTC"
    metrics: MetricSettings = field(default_factory=MetricSettings)

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


def load_settings(root: Path) -> Settings:
    """Read and validate ``root/closeloop.toml``."""
    cfg = root / CONFIG_NAME
    try:
        data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{cfg}: not found; run 'closeloop init {root}'") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg}: not valid TOML: {exc}") from exc
    wh, ops, ing, met = (data.get(k, {}) for k in ("warehouse", "ops", "ingest", "metrics"))
    metric_fields = MetricSettings.__dataclass_fields__
    unknown = set(met) - set(metric_fields)
    if unknown:
        raise ConfigError(f"{cfg}: metrics: unknown setting(s) {sorted(unknown)}; known: {sorted(metric_fields)}")
    metrics = MetricSettings(**met)
    if metrics.service_level_abandons not in {"exclude_short", "include_all", "exclude_all"}:
        raise ConfigError(
            f"{cfg}: metrics.service_level_abandons: {metrics.service_level_abandons!r} is not one of "
            "exclude_short, include_all, exclude_all"
        )
    tz = check_timezone(ing.get("default_timezone", "UTC"), f"{cfg}: ingest.default_timezone")
    return Settings(
        root=root.resolve(),
        warehouse_url=wh.get("url", "duckdb:///warehouse.duckdb"),
        warehouse_memory_limit=wh.get("memory_limit"),
        ops_url=ops.get("url", "sqlite:///ops.sqlite"),
        default_timezone=tz,
        metrics=metrics,
    )
