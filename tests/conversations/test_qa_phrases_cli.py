"""QA sampling, phrase discovery, the warehouse scan and the commands end to end."""

from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from closeloop.cli.app import app
from closeloop.conversations import default_playbook
from closeloop.conversations.phrases import count_ngrams, discover_phrases, fightin_words
from closeloop.conversations.qa import allocate, clock, qa_html, stratified_sample
from closeloop.conversations.synthetic import CUES
from closeloop.settings import Settings
from closeloop.warehouse import open_warehouse
from closeloop.warehouse.conversations import scan

runner = CliRunner()


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 50), min_size=1, max_size=8), n=st.integers(0, 120))
def test_allocate_invariants(sizes: list[int], n: int) -> None:
    got = allocate(sizes, n)
    assert sum(got) == min(n, sum(sizes))
    assert all(0 <= g <= s for g, s in zip(got, sizes, strict=True))
    if n >= sum(1 for s in sizes if s):
        assert all(g >= 1 for g, s in zip(got, sizes, strict=True) if s)


def test_stratified_sample_is_reproducible_and_covers_strata() -> None:
    calls = [{"call_id": f"C{i:03d}", "center_id": "AB"[i % 2], "outcome": ["sale", "no_sale"][i % 3 == 0]}
             for i in range(120)]
    a = stratified_sample(calls, 12, seed=4)
    b = stratified_sample(list(reversed(calls)), 12, seed=4)  # input order does not matter
    assert [c["call_id"] for c in a] == [c["call_id"] for c in b]
    assert len({c["call_id"] for c in a}) == 12
    assert set(Counter(c["stratum"] for c in a)) == {"A / sale", "A / no_sale", "B / sale", "B / no_sale"}
    assert [c["call_id"] for c in stratified_sample(calls, 12, seed=5)] != [c["call_id"] for c in a]


def test_clock_and_html_escaping() -> None:
    assert (clock(75.9), clock(3725), clock(None)) == ("1:15", "1:02:05", "")
    events = {"X": [{"category": "detector", "kind": "confusion", "speaker": "customer", "start_s": 61.0,
                     "evidence": "<b>Sorry, what?</b>", "matched": "Sorry, what"}]}
    page = qa_html([{"call_id": "X", "center_id": "A", "agent_id": "a1", "outcome": "no_sale"}], events,
                   {"confusion": "Customer confused"}, 1, "center × outcome", "all")
    assert "&lt;b&gt;<mark>Sorry, what</mark>?&lt;/b&gt;" in page and "1:01" in page


def test_fightin_words_formula_and_ranking() -> None:
    a = Counter({"deal": 30, "price": 10, "hello": 50})
    b = Counter({"deal": 5, "price": 30, "hello": 50})
    scores = {s.phrase: s for s in fightin_words(a, b, prior_scale=100.0, min_count=1)}
    # hand computation for "deal": alpha = 100 * 35/175 = 20; n_a = 90, n_b = 85
    delta = np.log(50 / (90 + 100 - 50)) - np.log(25 / (85 + 100 - 25))
    assert scores["deal"].delta == pytest.approx(delta)
    assert scores["deal"].z == pytest.approx(delta / np.sqrt(1 / 50 + 1 / 25))
    assert scores["deal"].z > 1.96 > -1.96 > scores["price"].z
    assert abs(scores["hello"].z) < 1.0


def test_ngrams_do_not_cross_turns_and_skip_stopwords() -> None:
    counts = count_ngrams(["I am confused\nthe price", "the the"])
    assert counts["am confused"] == 1 and counts["confused the"] == 0 and counts["the"] == 0
    won, lost = discover_phrases(["great deal"] * 10 + ["too expensive"] * 10, [True] * 10 + [False] * 10, top=2,
                                 min_count=1)
    assert {p.phrase for p in won} <= {"great", "deal", "great deal"}
    assert {p.phrase for p in lost} <= {"too", "expensive", "too expensive"}


def test_scan_persists_events_and_skips_when_current(workspace: Settings) -> None:
    pb = default_playbook()
    with open_warehouse(workspace) as wh:
        first = scan(wh, pb, chunk_calls=700)
        again = scan(wh, pb)
        assert not first.skipped and again.skipped
        assert (first.calls, first.turns) == (3000, 180000)
        assert wh.count("conversation_events") == first.events
        kinds = dict(wh.con.execute("SELECT kind, count(*) FROM conversation_events GROUP BY 1").fetchall())
        assert kinds["confusion"] > 300 and kinds["greeting"] == 3000
        sql = "SELECT count(*), sum(f_confusion::INT) FROM conversation_calls"
        (n_calls, n_conf) = wh.con.execute(sql).fetchall()[0]
        assert n_calls == 3000 and n_conf == kinds["confusion"]


def test_patterns_command_json(workspace: Settings) -> None:
    res = runner.invoke(app, ["patterns", "-w", str(workspace.root), "-f", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    top = [r["feature"] for r in rows[:4]]
    assert "confusion" in top and "no_value_statement" in top
    conf = next(r for r in rows if r["feature"] == "confusion")
    assert conf["significant"] and conf["adj_diff_high"] < 0 and conf["rate_with_low"] <= conf["rate_with"]


def test_patterns_by_center_and_table(workspace: Settings) -> None:
    res = runner.invoke(app, ["patterns", "-w", str(workspace.root), "--by", "center_id", "-f", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert {r["center_id"] for r in rows} == {"MNL", "AUS", "CLT"}
    table = runner.invoke(app, ["patterns", "-w", str(workspace.root)], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Customer confused" in table.stdout


def test_patterns_refuses_bad_playbook(workspace: Settings, tmp_path) -> None:
    bad = tmp_path / "pb.toml"
    bad.write_text("[detectors.confusion]\nphrases = ['x']\nspeaker = 'robot'\n")
    res = runner.invoke(app, ["patterns", "-w", str(workspace.root), "--playbook", str(bad)])
    assert res.exit_code != 0
    assert "detectors.confusion.speaker" in str(res.exception)


def test_phrases_command(workspace: Settings) -> None:
    res = runner.invoke(app, ["phrases", "-w", str(workspace.root), "-f", "json", "--top", "5"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    lost = [r["phrase"] for r in rows if r["typical_of"] == "lost"]
    planted = " ".join(" ".join(CUES[k]) for k in ("confusion", "gives_up", "competitor", "price_objection")).lower()
    assert lost and all(p in planted for p in lost), lost  # what separates lost calls is what was planted


def test_qa_sample_command_writes_csv_and_html(workspace: Settings, tmp_path) -> None:
    args = ["qa", "sample", "-w", str(workspace.root), "--n", "12", "--seed", "7", "--out", str(tmp_path),
            "--center", "MNL"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    rows = _read_csv(tmp_path / "qa_sample.csv")
    assert len({r["call_id"] for r in rows}) == 12 and {r["center_id"] for r in rows} == {"MNL"}
    moments = [r for r in rows if r["moment"] != "0"]
    assert moments and all(r["at"] and r["evidence"] for r in moments)
    html = (tmp_path / "qa_sample.html").read_text(encoding="utf-8")
    assert html.count("<section") == 12
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert _read_csv(tmp_path / "qa_sample.csv") == rows


def _read_csv(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_care_calls_resolution_and_csat(tmp_path) -> None:
    """Care analysis: only features that apply to care calls; CSAT compared with a Welch interval."""
    from closeloop.conversations.synthetic import synthetic_sales_calls
    from closeloop.settings import init_workspace
    from tests.conversations.conftest import fill_warehouse

    data = synthetic_sales_calls(400, np.random.default_rng(3), turns=30)
    rng = np.random.default_rng(4)
    for call, t in zip(data.calls, data.transcripts, strict=True):
        confused = any("confused" in u.text or "don't understand" in u.text for u in t.turns)
        call.update(call_type="care", direction="inbound", queue="care",
                    outcome="unresolved" if confused or rng.random() < 0.3 else "resolved",
                    csat=int(2 if confused else rng.integers(3, 6)), order_value=None)
    settings = init_workspace(tmp_path / "care")
    with open_warehouse(settings) as wh:
        fill_warehouse(wh, data)
    res = runner.invoke(app, ["patterns", "-w", str(settings.root), "--call-type", "care", "-f", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["feature"]: r for r in json.loads(res.stdout)}
    assert "price_objection" not in rows and "no_value_statement" not in rows  # sales-only patterns
    assert rows["confusion"]["rate_with"] < rows["confusion"]["rate_without"]
    res = runner.invoke(app, ["patterns", "-w", str(settings.root), "--call-type", "care", "--csat", "-f", "json"])
    assert res.exit_code == 0, res.output
    conf = next(r for r in json.loads(res.stdout) if r["feature"] == "confusion")
    assert conf["mean_with"] < conf["mean_without"] and conf["diff_high"] < 0


def test_discover_phrases_sides_never_overlap_and_ties_are_ordered() -> None:
    texts = ["great deal", "great deal", "too expensive", "hello there"]
    won, lost = discover_phrases(texts, [True, True, False, False], top=50, min_count=1)
    assert won and lost and not {p.phrase for p in won} & {p.phrase for p in lost}
    assert all(p.z > 0 for p in won) and all(p.z < 0 for p in lost)
    # "great", "deal" and "great deal" tie: alphabetical, whatever the process's string hashing
    assert [p.phrase for p in won] == ["deal", "great", "great deal"]
    with pytest.raises(ValueError, match="top"):
        discover_phrases(texts, [True, True, False, False], top=0)


def test_phrases_command_top_one_and_nothing_frequent_enough(workspace: Settings) -> None:
    from closeloop.errors import EmptySelectionError

    res = runner.invoke(app, ["phrases", "-w", str(workspace.root), "-f", "json", "--top", "1"])
    assert res.exit_code == 0, res.output
    assert sorted(r["typical_of"] for r in json.loads(res.stdout)) == ["lost", "won"]
    res = runner.invoke(app, ["phrases", "-w", str(workspace.root), "--min-count", "10000000"])
    assert isinstance(res.exception, EmptySelectionError) and res.exception.exit_code == 1


def test_qa_sample_to_a_folder_that_cannot_be_written_is_an_input_error(workspace: Settings, tmp_path) -> None:
    from closeloop.errors import InputError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = runner.invoke(app, ["qa", "sample", "-w", str(workspace.root), "--n", "2", "--out", str(blocker / "qa")])
    assert isinstance(res.exception, InputError) and "cannot write" in str(res.exception)


def test_patterns_table_leaves_the_interval_blank_for_a_pattern_never_seen() -> None:
    from closeloop.cli.conversations import _effect

    nan = float("nan")
    assert _effect({"adj_diff": nan, "adj_diff_low": nan, "adj_diff_high": nan}) == ""
    assert _effect({"adj_diff": -0.169, "adj_diff_low": -0.213, "adj_diff_high": -0.126}) == "-16.9% (-21.3%, -12.6%)"
