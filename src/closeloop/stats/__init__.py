"""Statistics for operations data: intervals, tests, regression, shrinkage, mix adjustment.

Pure functions over numbers and numpy arrays; no I/O and no knowledge of calls. The stable
public API (other packages import only these names)::

    wilson_interval(successes, n, conf=0.95) -> (low, high)        # scalars or arrays
    diff_interval(x1, n1, x2, n2, conf=0.95) -> (low, high)        # Newcombe, p1 - p2
    two_proportion_test(x1, n1, x2, n2) -> (z, pvalue)             # arrays broadcast
    chi_square_test(successes, n) -> TestResult                    # k groups, one rate?
    adjust_pvalues(pvalues, method="holm"|"bh"|"none") -> array
    logistic_regression(X, y, feature_names, trials=None) -> LogisticFit
    eb_shrinkage(successes, n, prior=None) -> Shrinkage            # beta-binomial EB
    fit_beta_prior(successes, n) -> (alpha, beta)
    fit_beta_priors([(successes, n), ...]) -> array of (alpha, beta)   # many groups, batched
    adjust_for_mix(group, covariates, successes, trials) -> MixAdjustment  # .adjusted, .decompose(a, b) -> Gap
"""

from closeloop.stats.intervals import diff_interval, wilson_interval, z_value
from closeloop.stats.logistic import LogisticFit, logistic_regression
from closeloop.stats.mix import Gap, MixAdjustment, adjust_for_mix
from closeloop.stats.shrinkage import Shrinkage, eb_shrinkage, fit_beta_prior, fit_beta_priors
from closeloop.stats.significance import TestResult, adjust_pvalues, chi_square_test, two_proportion_test

__all__ = [
    "Gap",
    "LogisticFit",
    "MixAdjustment",
    "Shrinkage",
    "TestResult",
    "adjust_for_mix",
    "adjust_pvalues",
    "chi_square_test",
    "diff_interval",
    "eb_shrinkage",
    "fit_beta_prior",
    "fit_beta_priors",
    "logistic_regression",
    "two_proportion_test",
    "wilson_interval",
    "z_value",
]
