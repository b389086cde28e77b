"""QA sampling: a reproducible, stratified set of calls for people to listen to.

A reviewer's hour is best spent on a sample that represents every center and outcome,
not on whatever calls come first. Calls are grouped into strata (by default center ×
outcome); the sample is split across strata in proportion to their size (largest
remainders, at least one call per stratum while the sample allows), and drawn within each
stratum by a seeded generator after sorting by call_id, so the same seed and data give the
same sample on any machine. Each sampled call comes with its flagged moments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from jinja2 import Environment

from closeloop.errors import EmptySelectionError, InputError

QA_CSV_COLUMNS = ("call_id", "center_id", "agent_id", "outcome", "stratum", "moment", "kind", "speaker", "at",
                  "start_s", "evidence", "matched")


def allocate(sizes: Sequence[int], n: int) -> list[int]:
    """Split ``n`` draws across strata of ``sizes``: proportional, largest remainder, ≥1 each if possible."""
    sizes_a = np.asarray(sizes, dtype=float)
    total = sizes_a.sum()
    if n <= 0 or total == 0:
        return [0] * len(sizes)
    n = int(min(n, total))
    base = np.zeros(len(sizes), dtype=int)
    if n >= np.count_nonzero(sizes_a):
        base = (sizes_a > 0).astype(int)  # every stratum is represented
    rest = n - base.sum()
    room = sizes_a - base
    share = rest * room / room.sum() if room.sum() else np.zeros(len(sizes))
    extra = np.minimum(np.floor(share).astype(int), room.astype(int))
    left = rest - extra.sum()
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    for i in order:
        if left <= 0:
            break
        if base[i] + extra[i] < sizes_a[i]:
            extra[i] += 1
            left -= 1
    value: list[int] = (base + extra).tolist()
    return value


def stratified_sample(
    calls: Sequence[Mapping[str, Any]], n: int, seed: int, strata: Sequence[str] = ("center_id", "outcome"),
) -> list[dict[str, Any]]:
    """``n`` calls drawn across strata (see module doc); each gets a ``stratum`` label."""
    if n < 1:
        raise InputError(f"sample size must be at least 1, got {n}")
    if not calls:
        raise EmptySelectionError("no calls match the selection to sample from")
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for call in sorted(calls, key=lambda c: str(c["call_id"])):
        groups.setdefault(tuple(str(call.get(k) or "") for k in strata), []).append(call)
    keys = sorted(groups)
    counts = allocate([len(groups[k]) for k in keys], n)
    rng = np.random.default_rng(seed)
    out = []
    for key, k in zip(keys, counts, strict=True):
        members = groups[key]
        for i in sorted(rng.choice(len(members), size=k, replace=False).tolist()):
            out.append({**members[i], "stratum": " / ".join(key)})
    return out


def clock(seconds: float | None) -> str:
    """``75.5`` -> ``"1:15"`` (where a reviewer seeks in the recording)."""
    if seconds is None or seconds != seconds:
        return ""
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def qa_rows(sample: Sequence[Mapping[str, Any]], events: Mapping[str, Sequence[Mapping[str, Any]]],
            labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """One CSV row per flagged moment (or one empty row for a call with none)."""
    rows = []
    for call in sample:
        moments = [e for e in events.get(str(call["call_id"]), []) if e.get("category") != "script"]
        base = {k: call.get(k) for k in ("call_id", "center_id", "agent_id", "outcome", "stratum")}
        if not moments:
            rows.append({**base, "moment": 0, "kind": "", "speaker": "", "at": "", "start_s": None, "evidence": "",
                         "matched": ""})
        for i, e in enumerate(moments, start=1):
            rows.append({**base, "moment": i, "kind": labels.get(e["kind"], e["kind"]), "speaker": e["speaker"],
                         "at": clock(e["start_s"]), "start_s": e["start_s"], "evidence": e["evidence"],
                         "matched": e.get("matched") or ""})
    return rows


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem} .meta{color:#666} section{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
h2{font-size:1.05rem;margin:.2rem 0} table{border-collapse:collapse;width:100%} td{padding:.25rem .4rem;
vertical-align:top;border-top:1px solid #eee} td.at{font-family:monospace;white-space:nowrap} mark{background:#ffe58a}
.none{color:#888} .kind{white-space:nowrap;font-weight:600} .check{width:6rem}
</style></head><body>
<h1>{{ title }}</h1>
<p class="meta">{{ calls|length }} calls · seed {{ seed }} · strata: {{ strata }} · {{ selection }}</p>
{% for c in calls %}<section id="{{ c.call_id }}">
<h2>{{ loop.index }}. Call {{ c.call_id }} <span class="meta">— {{ c.center_id }} · agent {{ c.agent_id }} ·
{{ c.outcome }}</span></h2>
{% if c.moments %}<table>{% for m in c.moments %}<tr><td class="at">{{ m.at }}</td><td class="kind">{{ m.kind }}</td>
<td>{{ m.speaker }}: {{ m.before }}<mark>{{ m.hit }}</mark>{{ m.after }}</td>
<td class="check">☐ agree</td></tr>{% endfor %}</table>
{% else %}<p class="none">No flagged moments: listen for what the detectors missed.</p>{% endif %}
</section>{% endfor %}
</body></html>
"""


def qa_html(sample: Sequence[Mapping[str, Any]], events: Mapping[str, Sequence[Mapping[str, Any]]],
            labels: Mapping[str, str], seed: int, strata: str, selection: str,
            title: str = "closeloop QA sample") -> str:
    """A self-contained HTML page: each sampled call with its moments, the matched words highlighted."""
    calls = []
    for call in sample:
        moments = []
        for e in events.get(str(call["call_id"]), []):
            if e.get("category") == "script":
                continue
            text, hit = e["evidence"] or "", e.get("matched") or ""
            at = text.lower().find(hit.lower()) if hit else -1
            before, after = (text[:at], text[at + len(hit):]) if at >= 0 else (text, "")
            moments.append({"at": clock(e["start_s"]), "kind": labels.get(e["kind"], e["kind"]),
                            "speaker": e["speaker"], "before": before, "hit": text[at:at + len(hit)] if at >= 0 else "",
                            "after": after})
        calls.append({**call, "moments": moments})
    env = Environment(autoescape=True)
    return env.from_string(_HTML).render(title=title, calls=calls, seed=seed, strata=strata, selection=selection)
