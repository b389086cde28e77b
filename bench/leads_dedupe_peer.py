"""Benchmark: closeloop's Fellegi–Sunter dedupe beside Splink (DuckDB backend, term-frequency adjustments).

    pip install --target /tmp/rlx --no-deps splink==5.0.0 recordlinkage==0.16
    PYTHONPATH=src:/tmp/rlx .venv/bin/python bench/leads_dedupe_peer.py [--leads 20000]

(``--no-deps`` into a side folder: recordlinkage pins pandas < 3, and only its bundled FEBRL
files are read here; Splink's own needs — duckdb, pyarrow, sqlglot — are closeloop's.)

Data, each with its truth:
1. the demo's planted duplicates (``synthetic_leads``: the same person from another source,
   numbers reformatted, typos, work e-mails), cleaned by ``clean_leads`` — lead data, the job
   ``closeloop leads dedupe`` is for;
2. FEBRL 3 and FEBRL 4 (a + b deduplicated together), the labelled person files bundled with
   recordlinkage (Christen, 2008): names, addresses, date of birth, social-security id; no phone
   or e-mail. closeloop's model sees only what a lead carries: the name, the address as the
   "company" field and the state as the "country". Splink is run twice: on the same fields, and
   on all FEBRL fields (what it could do with a person file).

Figures: pairwise precision, recall and F1 of the clusters at match probability 0.5, and wall
time (training + scoring + clustering; data preparation not timed). Not a test.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def quality(cluster_of: list[str], truth_of: list[str]) -> dict[str, float]:
    from closeloop.leads.linkage import pairwise_quality

    q = pairwise_quality(np.array(cluster_of), np.array(truth_of))
    q["f1"] = 2 * q["precision"] * q["recall"] / (q["precision"] + q["recall"]) if q["correct_pairs"] else 0.0
    return q


def ours(cleaned: pa.Table) -> tuple[dict[str, str], float]:
    from closeloop.leads.dedupe import dedupe_leads

    t = time.perf_counter()
    result = dedupe_leads(cleaned, threshold=0.5)
    elapsed = time.perf_counter() - t
    c = result.clusters
    return dict(zip(c.column("lead_id").to_pylist(), c.column("cluster_id").to_pylist(), strict=True)), elapsed


def splink(table: pa.Table, comparisons: list[object], blocking: list[object], training: list[object],
           deterministic: list[object]) -> tuple[dict[str, str], float]:
    from splink import DuckDBAPI, Linker, SettingsCreator

    t = time.perf_counter()
    db = DuckDBAPI()
    settings = SettingsCreator(link_type="dedupe_only", unique_id_column_name="lead_id", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking)
    linker = Linker(db.register(table), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in training:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.5).as_pandas_dataframe()
    elapsed = time.perf_counter() - t
    return dict(zip(clusters["lead_id"].astype(str), clusters["cluster_id"].astype(str), strict=True)), elapsed


def name_parts(cleaned: pa.Table) -> pa.Table:
    """First and last name tokens of the cleaned name, for Splink's blocking and comparisons."""
    names = [n.split() if n else [] for n in cleaned.column("name").to_pylist()]
    return cleaned.append_column("first_name", pa.array([p[0] if p else None for p in names], pa.string())) \
        .append_column("surname", pa.array([p[-1] if len(p) > 1 else None for p in names], pa.string()))


def lead_comparisons(contact: bool = True) -> tuple[list[object], list[object], list[object], list[object]]:
    """Splink on lead fields: the same evidence closeloop's model uses (``contact``: phone and e-mail exist)."""
    import splink.comparison_library as cl
    from splink import block_on

    comparisons = [cl.ForenameSurnameComparison("first_name", "surname"),
                   cl.JaroWinklerAtThresholds("company_key", [0.9]).configure(term_frequency_adjustments=True),
                   cl.ExactMatch("country")]
    blocking = [block_on("company_key", "first_name"), block_on("company_key", "surname")]
    if not contact:
        return (comparisons, blocking, [block_on("company_key"), block_on("first_name", "surname")],
                [block_on("company_key", "first_name", "surname")])
    comparisons = [cl.ExactMatch("phone").configure(term_frequency_adjustments=True), cl.EmailComparison("email"),
                   *comparisons]
    return (comparisons, [block_on("phone"), block_on("email"), *blocking], [block_on("phone"), block_on("email")],
            [block_on("phone"), block_on("email")])


def demo(n: int) -> None:
    from closeloop.leads.clean import CleanRules, clean_leads
    from closeloop.leads.synthetic import synthetic_leads

    raw = synthetic_leads(n, seed=1)
    cleaned = clean_leads(raw, CleanRules(default_country="US"))
    truth = dict(zip(raw.column("lead_id").to_pylist(), raw.column("true_person").to_pylist(), strict=True))
    report(f"demo leads ({n:,}, planted duplicates)", cleaned, truth, [("Splink, lead fields", lead_comparisons())])


def febrl(folder: Path, files: list[str], label: str) -> None:
    import splink.comparison_library as cl
    from splink import block_on

    from closeloop.leads.clean import CleanRules, clean_leads

    rows = pa.concat_tables([_read(folder / f) for f in files])
    ids = rows.column("rec_id").to_pylist()
    truth = {r: r.split("-")[1] for r in ids}  # rec-223-org and rec-223-dup-0 are one person
    address = pc.binary_join_element_wise(rows.column("street_number"), rows.column("address_1"), " ")
    leads = pa.table({"lead_id": ids, "created_at": pa.array([datetime(2025, 1, 1, tzinfo=UTC)] * len(ids)),
                      "source": ["febrl"] * len(ids),
                      "name": pc.binary_join_element_wise(rows.column("given_name"), rows.column("surname"), " "),
                      "company": address, "country": ["AU"] * len(ids)})
    cleaned = name_parts(clean_leads(leads, CleanRules(default_country="AU")))
    full = cleaned.append_column("dob", rows.column("date_of_birth")).append_column(
        "soc_sec_id", rows.column("soc_sec_id")).append_column("postcode", rows.column("postcode")).append_column(
        "suburb", rows.column("suburb"))
    person = ([cl.ForenameSurnameComparison("first_name", "surname"), cl.LevenshteinAtThresholds("dob", [1, 2]),
               cl.ExactMatch("soc_sec_id").configure(term_frequency_adjustments=True),
               cl.JaroWinklerAtThresholds("company_key", [0.9]), cl.ExactMatch("postcode"),
               cl.JaroWinklerAtThresholds("suburb", [0.9])],
              [block_on("first_name", "surname"), block_on("dob"), block_on("soc_sec_id"), block_on("postcode")],
              [block_on("dob"), block_on("postcode")], [block_on("soc_sec_id"), block_on("first_name", "dob")])
    report(label, cleaned, truth, [("Splink, lead fields", lead_comparisons(contact=False)),
                                   ("Splink, all FEBRL fields", person)], splink_table=full)


def report(label: str, cleaned: pa.Table, truth: dict[str, str], peers: list[tuple[str, tuple]],  # type: ignore[type-arg]
           splink_table: pa.Table | None = None) -> None:
    print(f"{label}: {cleaned.num_rows:,} records")
    clusters, seconds = ours(cleaned)
    _line("closeloop", clusters, truth, seconds)
    table = splink_table if splink_table is not None else name_parts(cleaned)
    table = table.select([c for c in table.column_names if c not in ("created_at", "last_seen_at")])
    for name, (comparisons, blocking, training, deterministic) in peers:
        clusters, seconds = splink(table, comparisons, blocking, training, deterministic)
        _line(name, clusters, truth, seconds)


def _line(name: str, clusters: dict[str, str], truth: dict[str, str], seconds: float) -> None:
    ids = list(truth)
    q = quality([clusters.get(i, i) for i in ids], [truth[i] for i in ids])
    print(f"  {name:26s} precision {q['precision']:.4f}  recall {q['recall']:.4f}  F1 {q['f1']:.4f}  "
          f"time {seconds:6.2f} s  (true pairs {q['true_pairs']:,.0f})")


def _read(path: Path) -> pa.Table:
    import pyarrow.csv as pcsv

    table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(), convert_options=pcsv.ConvertOptions(
        column_types={c: pa.string() for c in ("rec_id", "given_name", "surname", "street_number", "address_1",
                                                   "address_2", "suburb", "postcode", "state", "date_of_birth",
                                                   "soc_sec_id")}, strings_can_be_null=True),
        read_options=pcsv.ReadOptions())
    table = table.rename_columns([c.strip() for c in table.column_names])
    return table.set_column(0, "rec_id", pc.utf8_trim_whitespace(table.column("rec_id")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=20_000, help="demo leads")
    ap.add_argument("--febrl", type=Path, help="folder of the FEBRL CSVs (default: recordlinkage's bundled copy)")
    args = ap.parse_args()
    folder = args.febrl
    if folder is None:
        import importlib.util

        spec = importlib.util.find_spec("recordlinkage")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("recordlinkage not found: see the install line at the top of this file")
        folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"
    demo(args.leads)
    febrl(folder, ["dataset3.csv"], "FEBRL 3")
    febrl(folder, ["dataset4a.csv", "dataset4b.csv"], "FEBRL 4 (a + b)")


if __name__ == "__main__":
    main()
