"""Shared fixtures: a real PostgreSQL for tests marked ``postgres``.

The URL comes from ``CLOSELOOP_TEST_PG_URL`` or from ``.ci/pg.env`` (written by
``.ci/postgres.sh``). Under CI (``CI=true``) an unreachable server fails the test: a green run
must mean PostgreSQL was really exercised. Elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

_PG_ENV = Path(__file__).resolve().parents[1] / ".ci" / "pg.env"


def _pg_url() -> str | None:
    url = os.environ.get("CLOSELOOP_TEST_PG_URL")
    if not url and _PG_ENV.is_file():
        for line in _PG_ENV.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "CLOSELOOP_TEST_PG_URL":
                url = value.strip()
    return url or None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"PostgreSQL required under CI: {reason}")
    pytest.skip(f"no PostgreSQL: {reason} (run 'bash .ci/postgres.sh')")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema; dropped after the test."""
    url = _pg_url()
    if url is None:
        _unavailable("CLOSELOOP_TEST_PG_URL not set and .ci/pg.env missing")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    except sqlalchemy.exc.OperationalError as exc:
        engine.dispose()
        _unavailable(f"cannot connect to {url}: {exc.orig}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo workspace (two weeks), no report, built once; tests that write copy it first."""
    from closeloop.demo.build import build_demo
    from closeloop.demo.params import DemoParams

    root = tmp_path_factory.mktemp("ws-demo") / "ws"
    build_demo(root, DemoParams.for_scale("small", seed=5), report=False)
    return root
