"""Each wired section states the numbers its layer computes for the same seed, and its findings.

The quick study is built once; every expected number is recomputed here
directly from the layer (spectra, estimators, experiments, symbolic) with the
same seeds, independently of the section code, and compared with the
document's raw table values and with the rendered HTML/PDF text.
"""

from __future__ import annotations

import io
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from stability.recipes import default_recipe
from stability.report import Finding, Table, Verdict
from stability.report.numbers import format_number
from stability.report.study import build_study
from tests._support import quick_context, recipe_problems


@pytest.fixture(scope="module")
def quick_doc():
    """The default study with --quick, built in-process (the same seed as the CLI's quick report)."""
    return build_study(default_recipe(), quick=True)


@pytest.fixture(scope="module")
def ctx():
    """The context the quick study's builders saw (for seeds)."""
    return quick_context()


def _section(doc, key):
    (section,) = [s for s in doc.sections if s.id == key]
    return section


def _tables(section):
    return [b for b in section.blocks if isinstance(b, Table)]


def _findings(section):
    return [b for b in section.blocks if isinstance(b, Finding)]


def _problems(ctx):
    return recipe_problems(ctx)


def test_all_sections_present_in_order(quick_doc):
    """The quick default study has sections (a)–(f), in order, and nothing listed as unavailable."""
    assert [s.id for s in quick_doc.sections] == [
        "derivation", "segmentation", "spectra", "strategies", "training", "findings",
    ]
    run = quick_doc.appendix[0].subsections[-1]
    assert not any("not yet available" in str(b) for b in run.blocks)


# --------------------------------------------------------------------------- (a)


def test_derivation_verdicts_are_the_symbolic_layers(quick_doc, ctx):
    """Section (a)'s verification table lists each identity with the verdict its .verify() returns."""
    from stability import symbolic

    spec = ctx.recipe.derivation
    (table,) = _tables(_section(quick_doc, "derivation"))
    verdicts = dict(zip(table.column("identity"), table.column("verdict")))
    checks = [
        symbolic.expand(spec.t).verify(),
        symbolic.lemma(spec.bound, kind="matrix").verify(),
        symbolic.induction_step().verify(),
        symbolic.randomized(spec.t, kind="matrix").expectation().verify(),
        symbolic.truncated(spec.t, spec.tau, mode="chunked", kind="matrix").verify(),
    ]
    for check in checks:
        assert verdicts[check.statement] == ("proved" if check.verdict else "NOT proved")
    assert set(table.column("residual")) <= {"0", "0 (all parts)"}
    findings = _findings(_section(quick_doc, "derivation"))
    assert [f.verdict for f in findings] == [Verdict.SUPPORTED, Verdict.SUPPORTED]
    assert findings[1].tag == "claim 3" and "E[z_t]" in findings[1].claim


# --------------------------------------------------------------------------- (c)


def _spectra_rng(ctx, i, j):
    seq = ctx.seed_sequence("spectra")
    return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + (i, j)))


def test_spectra_numbers_are_the_spectra_layers(quick_doc, ctx):
    """λ₁, τ, the exact bias at τ, the check and the products in section (c) equal the layers' for the same seeds."""
    from stability.estimators import Truncated, exact
    from stability.spectra import check, lyapunov_spectrum, predict, product_spectrum

    inputs = ctx.rng("spectra").normal(size=(ctx.recipe.spectra.steps, ctx.recipe.model.inputs))
    prediction, check_table, products, _cost = _tables(_section(quick_doc, "spectra"))
    for i, problem in enumerate(_problems(ctx)):
        k = min(ctx.recipe.spectra.exponents, problem.cell.state_size)
        spectrum = lyapunov_spectrum(problem.cell, inputs, k=k, rng=_spectra_rng(ctx, i, 0))
        assert prediction.column("lambda1")[i] == spectrum.top
        assert prediction.column("lambda1_se")[i] == spectrum.top_stderr
        pred = predict(problem, spectrum=spectrum, tol=1e-3)
        assert prediction.column("tau")[i] == pred.recommended_tau
        if pred.recommended_tau is not None:
            assert prediction.column("exact_bias")[i] == exact(problem, Truncated(pred.recommended_tau)).relative_bias
        a = check(problem, prediction=pred, draws=8, rng=_spectra_rng(ctx, i, 1))
        assert check_table.column("slope")[i] == a.slope and check_table.column("diff_high")[i] == a.difference_high
        ps = product_spectrum(problem, eigenvalues=True)
        assert products.column("log_sigma1")[i] == ps.log_singular_values[-1, 0]
        assert products.column("log_sigmad")[i] == ps.log_singular_values[-1, -1]


def test_quick_study_covers_three_measured_regimes(quick_doc):
    """--quick: the gains were chosen by measuring λ₁; the section finds contracting, near-edge and expanding."""
    prediction = _tables(_section(quick_doc, "spectra"))[0]
    assert prediction.column("regime") == ("vanishing", "edge", "exploding")


def test_spectra_regimes_follow_the_sign_of_lambda1(quick_doc):
    """The regime column agrees with λ₁ and its standard error (predict's 2-s.e. rule, edge 0.01)."""
    prediction = _tables(_section(quick_doc, "spectra"))[0]
    for regime, lam, se in zip(prediction.column("regime"), prediction.column("lambda1"), prediction.column("lambda1_se")):
        if lam + 2 * se < -0.01:
            assert regime == "vanishing"
        elif lam - 2 * se > 0.01:
            assert regime == "exploding"
        else:
            assert regime == "edge"


def test_no_recommended_tau_exceeds_T_and_each_meets_its_bound(quick_doc, ctx):
    prediction = _tables(_section(quick_doc, "spectra"))[0]
    T = ctx.recipe.model.T
    for tau, exact_bias, tol, text in zip(prediction.column("tau"), prediction.column("exact_bias"),
                                          prediction.column("tol"), prediction.column("recommendation")):
        if tau is None:
            assert text == "full BPTT needed" and exact_bias is None
        else:
            assert 0 <= tau <= T - 1 and exact_bias <= tol


def test_no_agree_contradicts_its_own_numbers(quick_doc):
    """'agree' only when the difference's CI contains 0 and, where λ₁'s CI excludes 0, the rate's CI does too."""
    prediction, table, *_ = _tables(_section(quick_doc, "spectra"))
    rows = zip(table.column("verdict"), table.column("diff_low"), table.column("diff_high"), table.column("slope_low"),
               table.column("slope_high"), prediction.column("lambda1_low"), prediction.column("lambda1_high"))
    for verdict, dlo, dhi, slo, shi, llo, lhi in rows:
        contains = dlo <= 0 <= dhi
        rejects_flat = (shi < 0) if lhi < 0 else (slo > 0) if llo > 0 else True
        expected = "agree" if contains and rejects_flat else ("disagree" if not contains else "inconclusive")
        assert verdict == expected


def test_sensitivity_growth_is_the_spectra_layers(quick_doc, ctx):
    """The sensitivity growth rates in section (c) are sensitivity_growth's for the same seeds and settings."""
    from stability.report.sections.spectra import SETTINGS
    from stability.spectra import sensitivity_growth

    table = _tables(_section(quick_doc, "spectra"))[2]
    st = SETTINGS[True]
    prediction = _tables(_section(quick_doc, "spectra"))[0]
    taus = [t for t in ctx.recipe.strategies.taus if 1 <= t < ctx.recipe.model.T]
    for i, problem in enumerate(_problems(ctx)):
        g = sensitivity_growth(problem, Ts=st["Ts"], sequences=st["sequences"], directions=st["directions"],
                               tau=taus[len(taus) // 2], rate_bound=max(prediction.column("lambda1_high")[i], 0.0),
                               rng=_spectra_rng(ctx, i, 3))
        assert table.column("sens_full")[i] == g.full_rate.estimate
        assert table.column("sens_trunc_high")[i] == g.truncated_rate.high


def test_spectra_findings(quick_doc):
    """Every problem gets claim 4 (products, per-lag rate), claim 1 (sensitivity) and claim 2 (bias) tests."""
    findings = _findings(_section(quick_doc, "spectra"))
    n = len(default_recipe().resolved(quick=True).model.gains)
    assert sum(f.tag == "claim 4" for f in findings) == 2 * n
    assert sum(f.tag == "claim 2" for f in findings) == n
    assert sum(f.tag == "claim 1" and "sensitiv" in f.claim for f in findings) >= n
    assert any("identity" in f.claim for f in findings)
    assert all(f.value is not None for f in findings)


# --------------------------------------------------------------------------- (d)


def test_strategies_numbers_are_the_estimators(quick_doc, ctx):
    """Exact relative bias/variance in section (d) equal stability.estimators.exact on the same problems."""
    from stability.estimators import Randomized, Truncated, exact

    truncation, randomized, *_ = _tables(_section(quick_doc, "strategies"))
    spec = ctx.recipe.strategies
    problems = _problems(ctx)
    rows = list(zip(truncation.column("form"), truncation.column("tau"), truncation.column("relative_bias")))
    per_problem = len(rows) // len(problems)
    for i, problem in enumerate(problems):
        for form, tau, rel in rows[i * per_problem : (i + 1) * per_problem]:
            assert rel == exact(problem, Truncated(tau, mode=form)).relative_bias
        start = i * len(spec.pis)
        for j, pi in enumerate(sorted(spec.pis)):
            assert randomized.column("pi")[start + j] == pi
            ref = exact(problem, Randomized(pi))
            assert randomized.column("relative_variance")[start + j] == ref.variance / ref.gradient.norm() ** 2


def test_monte_carlo_points_agree_with_exact_where_not_heavy_tailed(quick_doc):
    """Two-sided: wherever the section calls the Monte Carlo standard error meaningful ("MC meaningful" = "yes"),
    Monte Carlo lies within 5 of its standard errors of the exact variance, on either side; only the points the
    section flags (π < π*, or π < π*₄ where the s.e. is unreliable) are skipped, and at least one is checked."""
    randomized = _tables(_section(quick_doc, "strategies"))[1]
    checked = 0
    for problem, pi, exact_v, mc, se, flag in zip(
        randomized.column("problem"), randomized.column("pi"), randomized.column("relative_variance"),
        randomized.column("mc_relative_variance"), randomized.column("mc_se"), randomized.column("mc_meaningful"),
    ):
        if flag != "yes":  # flagged (and explained) by the section, or no Monte Carlo (π = 1)
            continue
        assert abs(mc - exact_v) <= 5 * se, (problem, pi, mc, exact_v, se)
        checked += 1
    assert checked >= 1


def test_monte_carlo_flag_is_the_fourth_moment_threshold(quick_doc, ctx):
    """The "MC meaningful" column is decided by `variance_threshold(...)` recomputed here on the same driven inputs:
    "no (π < π*)" below π*, "s.e. unreliable (π < π*₄)" where `mc_reliable(π)` is False, "yes" otherwise, empty at
    π = 1 (no Monte Carlo); the threshold table shows the same L(4) and upper end of π*₄'s interval."""
    from stability.report.sections._regimes import regimes
    from stability.report.sections.strategies import side_streams
    from stability.spectra import variance_threshold

    section = _section(quick_doc, "strategies")
    randomized = _tables(section)[1]
    thr, _ = _threshold_and_sgd_tables(section)
    regs = regimes(ctx)
    vts = {f"gain {r.gain:g}": variance_threshold(r.problem.cell, inputs)
           for r, (inputs, _) in zip(regs, side_streams(ctx, len(regs)))}
    for i, problem in enumerate(thr.column("problem")):
        assert thr.column("L4")[i] == vts[problem].L4
        assert thr.column("pi_star4_high")[i] == vts[problem].pi_star4_high
    seen = set()
    for problem, pi, flag in zip(randomized.column("problem"), randomized.column("pi"),
                                 randomized.column("mc_meaningful")):
        vt = vts[problem]
        if pi >= 1:
            expected = ""
        elif pi < vt.pi_star:
            expected = "no (π < π*)"
        elif not vt.mc_reliable(pi):
            expected = "s.e. unreliable (π < π*₄)"
        else:
            expected = "yes"
        assert flag == expected, (problem, pi, flag, vt)
        seen.add(expected)
    # the quick study has points of every kind (π = 0.2 lies between π* ≈ 0.14 and π*₄ ≈ 0.27 at gain 0.5)
    assert seen == {"", "no (π < π*)", "s.e. unreliable (π < π*₄)", "yes"}


def test_cost_figure_draws_monte_carlo_only_where_its_standard_error_is_reliable(quick_doc):
    """Each panel of the MSE-vs-cost figure carries exactly the Monte Carlo points whose row says "yes"."""
    from matplotlib.container import ErrorbarContainer

    from stability.report.model import Figure

    section = _section(quick_doc, "strategies")
    randomized = _tables(section)[1]
    fig = next(b for b in section.blocks if isinstance(b, Figure) and b.caption.startswith("Relative MSE")).make()
    problems = list(dict.fromkeys(randomized.column("problem")))
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert len(panels) >= len(problems)
    for ax, problem in zip(panels, problems):
        want = sum(p == problem and flag == "yes" for p, flag in
                   zip(randomized.column("problem"), randomized.column("mc_meaningful")))
        drawn = sum(len(c.lines[0].get_xdata()) for c in ax.containers if isinstance(c, ErrorbarContainer))
        assert drawn == want, problem


def _threshold_and_sgd_tables(section):
    tables = _tables(section)
    thr = next(t for t in tables if "variance threshold" in t.caption)
    sgd = next(t for t in tables if "SGD terms" in t.caption)
    return thr, sgd


def test_threshold_table_is_variance_threshold(quick_doc, ctx):
    """π* per problem equals stability.spectra.variance_threshold on the same driven inputs; validation as measured."""
    import dataclasses

    from stability.report.sections._regimes import regimes
    from stability.report.sections.strategies import side_streams, threshold_grid, threshold_horizons
    from stability.spectra import measured_threshold, variance_threshold
    from stability.spectra.threshold import threshold_evidence

    thr, _ = _threshold_and_sgd_tables(_section(quick_doc, "strategies"))
    regs = regimes(ctx)
    for i, (r, (inputs, _)) in enumerate(zip(regs, side_streams(ctx, len(regs)))):
        vt = variance_threshold(r.problem.cell, inputs)
        assert thr.column("L2")[i] == vt.L2 and thr.column("pi_star")[i] == vt.pi_star
        assert thr.column("low")[i] == vt.low and thr.column("high")[i] == vt.high
        m = measured_threshold([dataclasses.replace(r.spec, T=h).build() for h in threshold_horizons(r.spec.T)],
                               threshold_grid(vt), trace="hutchinson", probes=2)
        assert thr.column("verdict")[i] == threshold_evidence(vt, m).verdict


def test_sgd_table_is_sgd_comparison(quick_doc, ctx):
    """Claim 3 in SGD terms: bias² and data variance equal an exact-trace sgd_comparison; the Hutchinson
    ξ-variance lies within 5 standard errors of the exact one; the verdict follows the stated rule."""
    import dataclasses

    from stability.estimators import sgd_comparison
    from stability.report.sections._regimes import regimes
    from stability.report.sections.strategies import SGD_SEQUENCES

    _, table = _threshold_and_sgd_tables(_section(quick_doc, "strategies"))
    regs = regimes(ctx)
    names = table.column("problem")
    for r in regs:
        rows = [i for i, n in enumerate(names) if n == f"gain {r.gain:g}"]
        taus = sorted({table.column("tau")[i] for i in rows})
        ref = sgd_comparison(dataclasses.replace(r.spec, batch=SGD_SEQUENCES).build(), taus=taus, trace="exact",
                             artbp=[t for t in taus if any(table.column("strategy")[i].startswith("ARTBP") and
                                                              table.column("tau")[i] == t for i in rows)])
        g2 = ref.full.gradient_norm2
        for i in rows:
            pair = next(p for p in ref.pairs if p.truncated.tau == table.column("tau")[i]
                        and p.randomized.name.replace("randomized (", "rand./").replace("ARTBP (", "ARTBP/").rstrip(")")
                        == table.column("strategy")[i])
            assert table.column("relative_truncated_bias2")[i] == pytest.approx(pair.truncated.bias2 / g2, rel=1e-9)
            shown, se = table.column("relative_xi_variance")[i], table.column("relative_xi_variance_se")[i]
            assert shown / table.column("noise_ratio")[i] == pytest.approx(ref.data_variance / g2, rel=1e-9)
            assert abs(shown - pair.randomized.xi_variance / g2) <= 5 * se
            ratio = table.column("log10_ratio")[i]
            assert table.column("verdict")[i] == ("supported" if ratio >= -0.0458 else "not supported")
    findings = [f for f in _findings(_section(quick_doc, "strategies")) if "SGD updates" in f.claim]
    assert len(findings) == len(regs)
    tags = {f.tag for f in _findings(_section(quick_doc, "strategies"))}
    assert {"claim 2", "claim 3"} <= tags
    # the cost formulas of claims 1 and 5 are identities in the evidence, never verdict boxes of the section
    assert not {"claim 1", "claim 5"} & tags
    records = _tables(_section(quick_doc, "findings"))[1].to_records()
    assert {("claim 1", "identity"), ("claim 5", "identity")} <= {(r["claim"], r["kind"]) for r in records}
    assert not any(r["claim"] == "claim 5" and r["kind"] == "evidence" for r in records)  # nothing measured for 5


def test_strategies_boxes_follow_the_core_rules(quick_doc, ctx):
    """Claim 2's box: supported iff the exact chunked relative bias at the middle τ is ≤ 0.1; claim 3's box: the
    findings rule over that problem's matched pairs as the SGD table shows them (not supported if any pair is,
    supported if one is and none rejects, inconclusive otherwise); no box for the unbiasedness identity."""
    section = _section(quick_doc, "strategies")
    truncation = _tables(section)[0]
    _, sgd = _threshold_and_sgd_tables(section)
    boxes = _findings(section)
    T = ctx.recipe.model.T
    matched = sorted(t for t in ctx.recipe.strategies.taus if 2 <= t < T)
    mid = matched[len(matched) // 2]
    problems = list(dict.fromkeys(truncation.column("problem")))
    want = {"supported": Verdict.SUPPORTED, "not supported": Verdict.NOT_SUPPORTED, "inconclusive": Verdict.INCONCLUSIVE}
    c2 = [b for b in boxes if b.tag == "claim 2"]
    assert len(c2) == len(problems)
    for b, problem in zip(c2, problems):
        (rel,) = [r for p, f, t, r in zip(truncation.column("problem"), truncation.column("form"),
                                          truncation.column("tau"), truncation.column("relative_bias"))
                  if p == problem and f == "chunked" and t == mid]
        assert b.value == rel and b.verdict == (Verdict.SUPPORTED if rel <= 0.1 else Verdict.NOT_SUPPORTED)
    c3 = [b for b in boxes if b.tag == "claim 3"]
    assert c3 and all("SGD updates" in b.claim for b in c3)
    for b in c3:
        problem = b.claim.split("(")[-1].split(";")[0]
        rows = [v for p, v in zip(sgd.column("problem"), sgd.column("verdict")) if p == problem]
        expected = ("not supported" if "not supported" in rows else "supported" if "supported" in rows
                    else "inconclusive")
        assert rows and b.verdict == want[expected], (problem, rows)
    assert not any("unbiased (exact expectation" in b.claim for b in boxes)


def test_monte_carlo_below_pi_star_is_not_shown(quick_doc):
    """Where π < π*, the Monte Carlo columns are empty and the row says why."""
    section = _section(quick_doc, "strategies")
    thr, _ = _threshold_and_sgd_tables(section)
    randomized = _tables(section)[1]
    pi_star = dict(zip(thr.column("problem"), thr.column("pi_star")))
    for problem, pi, mc, flag in zip(randomized.column("problem"), randomized.column("pi"),
                                     randomized.column("mc_relative_variance"), randomized.column("mc_meaningful")):
        if pi < 1 and pi < pi_star[problem]:
            assert mc is None and flag.startswith("no")
        elif pi < 1:
            assert mc is not None and flag in ("yes", "s.e. unreliable (π < π*₄)")


# --------------------------------------------------------------------------- (e)


def test_training_numbers_are_the_experiments(quick_doc, ctx):
    """Section (e)'s summary and claim verdicts equal run_experiment's for the same seeds."""
    from stability.experiments import TrainingConfig, run_experiment
    from stability.report.sections.training import OUTCOMES, training_seeds

    seeds = training_seeds(ctx, ctx.recipe.training.seeds)
    result = run_experiment(TrainingConfig.preset("quick").replace(seeds=seeds, cell="tanh"))
    table = _tables(_section(quick_doc, "training"))[0]
    assert table.column("perplexity_mean") == tuple(s.perplexity_mean for s in result.summary())
    assert table.column("backward_steps") == tuple(s.backward_steps_per_update for s in result.summary())
    verdict = result.verdict()
    findings = _findings(_section(quick_doc, "training"))
    for finding, cv in zip(findings, (verdict.claim2, verdict.claim3, verdict.claim3_artbp)):
        assert finding.verdict == OUTCOMES[cv.outcome]
        assert finding.value == pytest.approx(100 * cv.relative, rel=1e-12)


def test_training_evidence_is_counted_in_the_findings(quick_doc, ctx):
    """The experiment's paired comparisons reach the findings' evidence records with run_experiment's own
    effects and t-intervals (recomputed here from its per-seed perplexities with scipy's t), and claim 2's
    verdict under "any" follows the stated rule over those records (not supported if one rejects it, supported
    if one supports it and none rejects it, inconclusive otherwise)."""
    import numpy as np
    from scipy import stats

    from stability.experiments import TrainingConfig, run_experiment
    from stability.report.sections.training import training_seeds

    seeds = training_seeds(ctx, ctx.recipe.training.seeds)
    result = run_experiment(TrainingConfig.preset("quick").replace(seeds=seeds, cell="tanh"))
    records = [r for r in _tables(_section(quick_doc, "findings"))[1].to_records() if r["kind"] == "evidence"]
    full = {r.seed: r.final_perplexity for r in result.runs_of("full")}
    taus = [s.key for s in result.strategies if s.kind == "truncated"]
    any2 = []
    for key in taus:
        a = np.array([r.final_perplexity for r in result.runs_of(key)])
        b = np.array([full[r.seed] for r in result.runs_of(key)])
        d = (a - b) / b.mean()
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        (rec,) = [r for r in records if r["claim"] == "claim 2" and r["condition"] == "any"
                  and r["problem"] == f"{key} − full"]
        assert rec["effect"] == pytest.approx(d.mean(), rel=1e-9, abs=1e-12)
        assert (rec["ci_low"], rec["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9)
        any2.append(rec["verdict"])
    any2 += [r["verdict"] for r in records if r["claim"] == "claim 2" and r["condition"] == "any"
             and not r["problem"].endswith("− full")]
    expected = ("not supported" if "not supported" in any2 else "supported" if "supported" in any2
                else "inconclusive")
    claims = _tables(_section(quick_doc, "findings"))[0]
    row = claims.column("conditions")[list(claims.column("claim")).index("Claim 2")]
    assert f"any: {expected}" in row


def test_influence_balancing_table(quick_doc, ctx):
    """The influence-balancing rows are truncation_signs' exact gradients and training outcomes."""
    from stability.experiments import InfluenceTask, truncation_signs

    signs = truncation_signs(InfluenceTask(), ctx.recipe.training.influence_taus)
    table = _tables(_section(quick_doc, "training"))[1]
    assert table.column("gradient") == tuple(float(g) for g in signs.truncated)
    assert table.column("wrong_sign") == tuple("yes" if w else "no" for w in signs.wrong_sign)
    assert table.column("diverged") == table.column("wrong_sign")  # the sign predicts divergence


# --------------------------------------------------------------------------- (f)


def _rule(verdicts):
    """SPEC §6 rule, written out here: per condition, then overall."""
    if "not supported" in verdicts:
        return "not supported"
    if "supported" in verdicts:
        return "supported"
    return "inconclusive"


def test_findings_decide_each_claim_per_condition(quick_doc):
    """Section (f): the evidence rows carry claim, condition, verdict, effect, CI and kind; the per-condition and
    overall verdicts follow the stated rule, recomputed here from the rows; identities are never counted."""
    import json

    section = _section(quick_doc, "findings")
    claims, evidence = _tables(section)[:2]  # the per-claim table first, then the tests
    records = evidence.to_records()
    assert records and all({"claim", "condition", "verdict", "effect", "ci_low", "ci_high", "kind"} <= set(r) for r in records)
    assert {r["kind"] for r in records} <= {"evidence", "identity"} and any(r["kind"] == "identity" for r in records)
    for r in records:
        assert r["ci_low"] <= r["effect"] <= r["ci_high"]
    data = json.loads(quick_doc.to_json())
    (fsec,) = [s for s in data["sections"] if s["id"] == "findings"]
    assert fsec["tables"][1]["rows"] == json.loads(json.dumps(records))
    for r in records:  # the full hypothesis and threshold texts stay in the JSON beside the note numbers
        assert r["hypothesis"] and r["threshold"] and r["hypothesis_note"][0] == "H" and r["threshold_note"][0] == "T"
    assert claims.column("claim") == ("Claim 1", "Claim 2", "Claim 3", "Claim 4", "Claim 5")
    for claim, per, overall_verdict, basis in zip(claims.column("claim"), claims.column("conditions"),
                                                  claims.column("verdict"), claims.column("basis")):
        rows = [r for r in records if r["claim"] == claim.lower() and r["kind"] == "evidence"]
        if basis != "interval tests":
            assert not rows
            continue
        conditions = {}
        for r in rows:
            conditions.setdefault(r["condition"], []).append(r["verdict"])
        decided = {c: _rule(v) for c, v in conditions.items()}
        assert per == "; ".join(f"{c}: {decided[c]}" for c in ("contracting", "edge", "expanding", "any") if c in decided)
        values = list(decided.values())
        expected = ("not supported" if "not supported" in values
                    else "supported" if all(v == "supported" for v in values) else "inconclusive")
        assert overall_verdict == expected


def test_findings_rule_on_hand_made_evidence():
    """Literal verdicts on hand-made tests: a contracting 'no growth' support is not diluted by the expanding branch."""
    from stability.findings import Evidence
    from stability.report._context import StudyContext
    from stability.report.sections.findings import build_findings_section

    def ev(claim, cond, verdict, kind="evidence"):
        return Evidence(claim, cond, "h", 0.1, 0.0, 0.2, "t", verdict, kind)

    ctx = StudyContext(recipe=default_recipe(), quick=True, seed=1, evidence=(
        ev("claim 1", "contracting", "supported"), ev("claim 1", "expanding", "supported"),
        ev("claim 4", "contracting", "supported"), ev("claim 4", "edge", "inconclusive"),
        ev("claim 2", "any", "not supported"), ev("claim 5", "any", "supported", kind="identity"),
    ))
    out = build_findings_section(ctx)
    claims = _tables(out.section)[0]
    assert claims.column("verdict") == ("supported", "not supported", "not tested", "inconclusive", "not tested")
    assert claims.column("identities") == (0, 0, 0, 0, 1)


def test_overall_rule():
    """All supported → supported; none → not supported; mixed → inconclusive."""
    from stability.report.sections.findings import overall

    s = Finding("c", "supported", "e")
    n = Finding("c", "not supported", "e")
    assert overall((s, s)) is Verdict.SUPPORTED
    assert overall((n,)) is Verdict.NOT_SUPPORTED
    assert overall((s, n)) is Verdict.INCONCLUSIVE


# --------------------------------------------------------------------------- rendered outputs


def _volatile(table: Table) -> set[str]:
    """Columns that measure time or memory, different in every run."""
    return {c.key for c in table.columns if c.unit in ("s", "bytes")}


def _volatile_row(table: Table, row: tuple) -> bool:
    """A findings row whose effect is a measured time or memory (different in every run)."""
    keys = [c.key for c in table.columns]
    return "threshold" in keys and "measured" in str(row[keys.index("threshold")])


def test_cli_report_shows_the_same_numbers(quick_report, quick_doc):
    """The CLI's quick report.html holds every formatted number of the sections' tables (timings excepted)."""
    import html as html_lib

    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", quick_report.html))
    for section in quick_doc.sections:
        for table in _tables(section):
            skip = _volatile(table)
            for raw, row in zip(table.rows, table.formatted_rows()):
                if _volatile_row(table, raw):
                    continue
                for col, cell in zip(table.columns, row):
                    if col.kind != "text" and col.key not in skip:
                        assert cell in text, (section.id, col.key, cell)


def _findings_html_rows(page_html: str) -> tuple[str, list[list[str]], dict[str, str]]:
    """The findings section of report HTML: its text, the evidence table's body rows, the notes (number → text)."""
    import html as html_lib

    start = page_html.index('<section id="findings"')
    body = page_html[start:page_html.index("</section>", start)]

    def cells(table_id: str) -> list[list[str]]:
        table = re.search(rf'<table id="{table_id}">(.*?)</table>', body, re.S).group(1)
        tbody = table.split("<tbody>", 1)[1]
        return [
            [html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
        ]

    notes = {n: t for n, t in cells("findings-notes")}
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body)), cells("findings-evidence"), notes


def test_findings_rows_reference_their_threshold_and_numbers_in_html(quick_report, quick_doc):
    """Every evidence row of the rendered findings section names a threshold note whose text is that test's
    threshold (and a hypothesis note with its hypothesis), and shows its effect and 95% interval ends as
    formatted from the raw JSON numbers (timing rows excepted: measured anew in each run)."""
    section = _section(quick_doc, "findings")
    records = _tables(section)[1].to_records()
    text, rows, notes = _findings_html_rows(quick_report.html)
    assert len(rows) == len(records) > 0
    keys = [c.key for c in _tables(section)[1].columns]
    for r, cells in zip(records, rows):
        shown = dict(zip(keys, cells))
        assert r["threshold"] in text
        assert notes[shown["threshold"]] == r["threshold"], (shown, r["threshold"])
        assert notes[shown["hypothesis"]] == r["hypothesis"], (shown, r["hypothesis"])
        assert (shown["claim"], shown["condition"], shown["verdict"], shown["kind"]) == (
            r["claim"], r["condition"], r["verdict"], r["kind"])
        if "measured" in r["threshold"]:
            continue
        estimate = shown["estimate"]
        assert estimate.startswith(format_number(r["effect"], sig=3) + " "), (estimate, r)
        if r["ci_low"] == r["ci_high"]:
            assert "(exact)" in estimate
        else:
            assert f"[{format_number(r['ci_low'], sig=3)}, {format_number(r['ci_high'], sig=3)}]" in estimate
        assert estimate.endswith(r["unit"])


def test_findings_html_check_rejects_a_wrong_threshold_reference():
    """The parse above follows the page: rows whose threshold references are swapped resolve to the other
    test's threshold, so the check above would fail on such a page."""
    from stability.findings import Evidence
    from stability.report import Document, render_html
    from stability.report.sections.findings import build_findings_section

    evidence = (Evidence("claim 1", "contracting", "h", -1.0, -1.1, -0.9, "below 0", "supported", unit="1/step"),
                Evidence("claim 4", "expanding", "g", 0.5, 0.4, 0.6, "above 0", "supported", unit="1/step"))
    section = build_findings_section(SimpleNamespace(evidence=evidence, findings=(), summaries=())).section
    page = render_html(Document(title="t", sections=(section,)))
    _, rows, notes = _findings_html_rows(page)
    assert [notes[r[5]] for r in rows] == ["below 0", "above 0"] and rows[0][4] == "−1 [−1.1, −0.9] 1/step"
    i = page.index('<table id="findings-evidence">')
    j = page.index("</table>", i)
    part = page[i:j].replace("<td>T1</td>", "<td>T9</td>").replace("<td>T2</td>", "<td>T1</td>").replace(
        "<td>T9</td>", "<td>T2</td>")
    swapped = page[:i] + part + page[j:]
    _, rows, notes = _findings_html_rows(swapped)
    assert [notes[r[5]] for r in rows] == ["above 0", "below 0"]


def test_pdf_holds_key_numbers_and_verdicts(quick_report, quick_doc):
    """The PDF states λ₁ of every problem, the training perplexities, and every claim's verdict."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(quick_report.pdf))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    prediction = _tables(_section(quick_doc, "spectra"))[0]
    for lam in prediction.column("lambda1"):
        assert format_number(lam, sig=4) in text
    for ppl in _tables(_section(quick_doc, "training"))[0].column("perplexity_mean"):
        assert format_number(ppl, sig=4) in text
    for claim in _tables(_section(quick_doc, "findings"))[0].column("claim"):
        assert claim in text
    for title in ("The model and the derivation", "Spectra", "The strategies compared", "The training experiment", "Findings"):
        assert title in text
    assert math.isfinite(prediction.column("lambda1")[0])
