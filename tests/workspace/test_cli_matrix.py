"""Every command in every output format prints the application layer's table; errors are one line.

Run in-process (Typer's runner) for the format matrix, and as the installed command for the
error paths, since a traceback or the exit code is what a script sees.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from closeloop.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: (command, the library call that makes the same table) — one per use-case with a table.
COMMANDS = [
    (["status"], lambda ws: ws.status()),
    (["rejects"], lambda ws: ws.rejects()),
    (["sql", "SELECT queue, count(*) AS n FROM calls GROUP BY ALL ORDER BY 1"],
     lambda ws: ws.sql("SELECT queue, count(*) AS n FROM calls GROUP BY ALL ORDER BY 1")),
    (["scorecard", "--by", "center_id", "--grain", "week"], lambda ws: ws.scorecard(by="center_id", grain="week")),
    (["scorecard", "--by", "agent_id", "--metrics", "close_rate"],
     lambda ws: ws.scorecard(by="agent_id", metrics="close_rate")),
    (["scorecard", "--by", "vendor", "--adjust-for", "source"], lambda ws: ws.scorecard(by="vendor",
                                                                                        adjust_for="source")),
    (["explain", "gap", "vendor", "harborline", "in-house"],
     lambda ws: ws.explain_gap("vendor", "harborline", "in-house")),
    (["explain", "modes"], lambda ws: ws.explain_modes()),
    (["explain", "volume"], lambda ws: ws.explain_volume()),
    (["sla", "show"], lambda ws: ws.sla_terms()),
    (["patterns"], lambda ws: ws.patterns()),
    (["phrases"], lambda ws: ws.phrases()),
    (["staff", "--calls-per-hour", "240", "--aht", "360"], lambda ws: __import__("closeloop").staff(240, 360)),
]


def _invoke(args: list[str]) -> str:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, (args, res.output, res.exception)
    return res.stdout


@pytest.mark.parametrize(("args", "call"), COMMANDS, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_command_in_every_format(demo_root: Path, tmp_path: Path, args: list[str], call) -> None:
    import closeloop

    ws = closeloop.open(demo_root)
    expected = call(ws)
    where = ["-w", str(demo_root)] if args[0] != "staff" else []
    table = _invoke([*args, *where])
    assert table.strip(), "the table format prints something"
    rows = json.loads(_invoke([*args, *where, "-f", "json"]))
    want = json.loads(json.dumps(expected.rows(), default=lambda v: v.isoformat()))
    assert len(rows) == len(want)
    for got, row in zip(rows, want, strict=True):
        assert list(got) == list(row)
        # sums of floats may differ in the last bit between runs (parallel aggregation)
        assert got == {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in row.items()}
    parsed = list(csv.reader(io.StringIO(_invoke([*args, *where, "-f", "csv"]))))
    assert parsed[0] == expected.columns and len(parsed) == len(expected) + 1
    assert all(len(line) == len(parsed[0]) for line in parsed)
    out = tmp_path / "r.parquet"
    _invoke([*args, *where, "-f", "parquet", "--out", str(out)])
    assert pq.read_table(out).num_rows == len(expected)
    assert pq.read_table(out).column_names == expected.columns


def test_sla_check_formats_and_exit_code(demo_root: Path) -> None:
    res = CliRunner().invoke(app, ["sla", "check", "-w", str(demo_root), "-f", "csv"])
    parsed = list(csv.reader(io.StringIO(res.stdout)))
    failed = [r for r in parsed[1:] if r[parsed[0].index("status")] == "fail"]
    assert res.exit_code == (1 if failed else 0)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


BAD = [
    (["scorecard", "--grain", "year"], 2),           # bad option value (click)
    (["scorecard", "--by", "nonsense"], 2),          # unknown dimension
    (["scorecard", "--conf", "2"], 2),
    (["scorecard", "--period", "2024-13"], 2),
    (["scorecard", "--where", "queue"], 2),
    (["explain", "gap", "vendor", "x", "y", "--adjust-for", ""], 2),
    (["sla", "check", "--contracts", "nope.toml"], 2),
    (["simulate", "nope.toml"], 2),
    (["staff"], 2),
    (["staff", "--calls-per-hour", "10", "--target", "1.5"], 2),
    (["leads", "score"], 1),                         # nothing to score yet
    (["leads", "next", "--campaign", "c", "--agent", "a"], 1),
    (["sql", "SELECT * FROM nowhere"], 3),
    (["scorecard", "-f", "parquet"], 2),              # parquet needs --out
]


def test_bad_options_give_one_line_and_the_documented_exit_code(tmp_path: Path) -> None:
    # in a folder that is no workspace: exit 2 naming 'closeloop init'
    for cmd in (["status"], ["scorecard"], ["leads", "clean"], ["report"]):
        r = _run(*cmd, cwd=tmp_path)
        assert r.returncode == 2 and "closeloop init" in r.stderr and "Traceback" not in r.stderr, (cmd, r.stderr)
    ws = tmp_path / "ws"
    assert _run("init", str(ws), cwd=tmp_path).returncode == 0
    # an empty workspace: nothing to report is exit 1, never a traceback
    for cmd in (["scorecard"], ["report", "-o", str(tmp_path / "r.html")], ["explain", "modes"]):
        r = _run(*cmd, "-w", str(ws), cwd=tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr, (cmd, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for cmd, code in BAD:
        extra = ["-w", str(ws)] if cmd[0] not in ("staff", "simulate") else []
        r = _run(*cmd, *extra, cwd=tmp_path)
        assert r.returncode == code, (cmd, r.returncode, r.stderr)
        assert "Traceback" not in r.stderr, (cmd, r.stderr)


def test_lead_commands_print_the_declared_tables(demo_copy: Path) -> None:
    """The lead pipeline's commands in JSON and CSV: every declared column, in order, in every row."""
    from closeloop.workspace.leads import DEDUPE, EVALUATION, FOLLOWUPS, QUEUE_ITEM, SUMMARY

    where = ["-w", str(demo_copy)]
    steps = [(["leads", "clean"], SUMMARY), (["leads", "dedupe"], DEDUPE), (["leads", "score"], EVALUATION),
             (["leads", "queue", "--campaign", "spring"], QUEUE_ITEM),
             (["leads", "next", "--campaign", "spring", "--agent", "A1", "--count", "2"], QUEUE_ITEM),
             (["leads", "followups", "--campaign", "spring"], FOLLOWUPS)]
    for args, schema in steps:
        rows = json.loads(_invoke([*args, *where, "-f", "json"]))
        assert all(list(r) == schema.names for r in rows), args
        if args[1] in ("next",):
            continue  # taking leads twice would take two different ones
        parsed = list(csv.reader(io.StringIO(_invoke([*args, *where, "-f", "csv"]))))
        assert parsed[0] == schema.names and len(parsed) == len(rows) + 1, args
