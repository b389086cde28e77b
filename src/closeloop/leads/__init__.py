"""Leads: clean intake, deduplication, scoring and follow-up rules (pure: no file or network I/O).

Modules, in the order a lead meets them:

* :mod:`~closeloop.leads.normalize` — one value at a time: phone to E.164, e-mail, names, placeholders.
* :mod:`~closeloop.leads.clean` — a table of raw leads to ``leads_clean`` (completeness, enrichment).
* :mod:`~closeloop.leads.linkage` / :mod:`~closeloop.leads.dedupe` — Fellegi–Sunter linkage,
  clusters, survivorship, lineage.
* :mod:`~closeloop.leads.scoring` / :mod:`~closeloop.leads.train` / :mod:`~closeloop.leads.evaluate`
  — calibrated scores, reason codes, tiers; held-out AUC, calibration and lift vs a baseline.
* :mod:`~closeloop.leads.followup` — cadence, calling windows, do-not-call, attempt caps.
* :mod:`~closeloop.leads.funnel` — the report's funnel, speed-to-lead and compliance tables.
* :mod:`~closeloop.leads.synthetic` — seeded leads with planted duplicates and calls, for tests,
  benchmarks and the demo.

The package imports nothing on purpose: the queue (``closeloop.ops``) needs only the follow-up
rules and should not pay for scikit-learn.
"""
