"""The digital twin on the real bank month: ingest, calibrate, validate, with timings.

    .venv/bin/python bench/twin.py                       # ../shared/data/anonymous-bank/january1999.txt
    .venv/bin/python bench/twin.py --replications 8 --file PATH

Runs the commands a planner would (in a temporary workspace) and prints the calibration
summary and the observed-vs-simulated table; the figures go into docs/simulator.md.
Not a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "anonymous-bank" / "january1999.txt"


def closeloop(*args: str, cwd: Path) -> float:
    """Run a command as a user would; return its wall time."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=cwd, check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    """Ingest, calibrate and validate; print each step's time."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--replications", "-n", type=int, default=8)
    args = ap.parse_args(argv)
    if not args.file.exists():
        sys.exit(f"{args.file} not found (the Anonymous Bank month, see ../shared/data/README.md)")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        closeloop("init", str(ws), cwd=ws)
        t_ingest = closeloop("ingest", "calls", str(args.file), "--format", "anonymous-bank", cwd=ws)
        twin = ws / "twin.toml"
        t_cal = closeloop("calibrate", "--timezone", "Asia/Jerusalem", "--caller-column", "bank_customer_id",
                          "-o", str(twin), cwd=ws)
        t_val = closeloop("simulate", str(twin), "--validate", "-n", str(args.replications), cwd=ws)
    print(f"\ningest {t_ingest:.1f} s, calibrate {t_cal:.1f} s, validate ({args.replications} replications) "
          f"{t_val:.1f} s (wall, each including the command's start-up)")


if __name__ == "__main__":
    main()
