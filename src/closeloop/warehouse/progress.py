"""Progress of a running DuckDB statement, for progress bars on long single statements."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def query_progress(con: Any, update: Callable[[float], None], every_s: float = 0.2) -> Iterator[None]:
    """While the block runs, report the running DuckDB query's percent done to ``update``.

    DuckDB answers ``query_progress()`` from another thread while a query executes, so a
    long single statement (a 10-million-row file) still moves a progress bar.
    """
    done = threading.Event()

    def poll() -> None:
        while not done.wait(every_s):
            pct = con.query_progress()
            if pct >= 0:
                update(pct)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
