"""Leads: clean intake, deduplication, scoring and follow-up rules (pure: no file or network I/O).

Modules, in the order a lead meets them:

* :mod:`~closeloop.leads.normalize` — one value at a time: phone to E.164, e-mail, names, placeholders.
* :mod:`~closeloop.leads.clean` — a table of raw leads to ``leads_clean`` (completeness, enrichment).
* :mod:`~closeloop.leads.linkage` / :mod:`~closeloop.leads.dedupe` — Fellegi–Sunter linkage,
  clusters, survivorship, lineage.
* :mod:`~closeloop.leads.attributes` (rules: :mod:`~closeloop.leads.attribute_rules`) — every extra
  column of a leads file typed once; :mod:`~closeloop.leads.activity` — ``lead_events`` as features.
* :mod:`~closeloop.leads.features` / :mod:`~closeloop.leads.leakage` — attribute features, empty and
  constant columns dropped, leaking columns excluded.
* :mod:`~closeloop.leads.scoring` / :mod:`~closeloop.leads.train` / :mod:`~closeloop.leads.evaluate`
  / :mod:`~closeloop.leads.explain` — LightGBM, calibrated scores, SHAP reasons, tiers; held-out AUC,
  calibration and lift beside a logistic regression and a source-only baseline.
* :mod:`~closeloop.leads.followup` — cadence, calling windows, do-not-call, attempt caps.
* :mod:`~closeloop.leads.funnel` — the report's funnel, speed-to-lead and compliance tables.
* :mod:`~closeloop.leads.synthetic` — seeded leads with planted duplicates and calls, for tests,
  benchmarks and the demo; :mod:`~closeloop.leads.planted` — leads with typed attributes, planted
  leaks and known probabilities.

The package imports nothing on purpose: the queue (``closeloop.ops``) needs only the follow-up
rules and should not pay for scikit-learn.
"""
