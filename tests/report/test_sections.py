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

import numpy as np
import pytest

from stability.recipes import default_recipe
from stability.report import Finding, Table, Verdict
from stability.report.numbers import format_number
from stability.report.study import StudyContext, build_study


@pytest.fixture(scope="module")
def quick_doc():
    """The default study with --quick, built in-process (the same seed as the CLI's quick report)."""
    return build_study(default_recipe(), quick=True)


@pytest.fixture(scope="module")
def ctx():
    """The context the quick study's builders saw (for seeds)."""
    recipe = default_recipe()
    return StudyContext(recipe=recipe.resolved(quick=True), quick=True, seed=recipe.seed)


def _section(doc, key):
    (section,) = [s for s in doc.sections if s.id == key]
    return section


def _tables(section):
    return [b for b in section.blocks if isinstance(b, Table)]


def _findings(section):
    return [b for b in section.blocks if isinstance(b, Finding)]


def _problems(ctx):
    from stability.estimators import ProblemSpec

    m = ctx.recipe.model
    return [
        ProblemSpec(cell=c, hidden=m.hidden, inputs=m.inputs, T=m.T, gain=g, seed=ctx.model_seed()).build()
        for c in m.cells
        for g in m.gains
    ]


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


def test_spectra_numbers_are_the_spectra_layers(quick_doc, ctx):
    """λ₁ and the product singular values in section (c) equal the spectra layer's for the same seed."""
    from stability.spectra import lyapunov_spectrum, product_spectrum

    rng = ctx.rng("spectra")
    inputs = rng.normal(size=(ctx.recipe.spectra.steps, ctx.recipe.model.inputs))
    prediction, check_table, products = _tables(_section(quick_doc, "spectra"))
    for i, problem in enumerate(_problems(ctx)):
        k = min(ctx.recipe.spectra.exponents, problem.cell.state_size)
        spectrum = lyapunov_spectrum(problem.cell, inputs, k=k, rng=rng)
        assert prediction.column("lambda1")[i] == spectrum.top
        assert prediction.column("lambda1_se")[i] == spectrum.top_stderr
        ps = product_spectrum(problem, eigenvalues=True)
        assert products.column("log_sigma1")[i] == ps.log_singular_values[-1, 0]
        assert products.column("log_sigmad")[i] == ps.log_singular_values[-1, -1]
        rng.normal(size=problem.initial_state.shape)  # the section's sensitivity direction: keep the stream aligned


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


def test_sensitivity_is_a_finite_difference_of_the_gradient():
    """The h_0-sensitivity equals a directional derivative of ‖G‖-normalised G estimated by central differences."""
    from stability import gradients
    from stability.estimators import ProblemSpec
    from stability.report.sections.spectra import sensitivity

    problem = ProblemSpec(hidden=5, inputs=2, T=20, gain=1.5, seed=2).build()
    u = np.random.default_rng(0).normal(size=problem.initial_state.shape)
    u /= np.linalg.norm(u)
    a_full, _, linearity = sensitivity(problem, u, tau=4)
    h = 1e-5

    def grad(step):
        moved = problem.with_data(problem.inputs, problem.targets, problem.initial_state + step * u)
        return gradients.full(moved).vector()

    g0 = grad(0.0)
    directional = (grad(h) - grad(-h)) / (2 * h)  # O(h²) accurate
    ref = np.linalg.norm(directional) / np.linalg.norm(g0)
    # A uses a forward difference at δ = 1e-6: truncation error ≈ δ·(curvature ratio, O(1) here) ≈ 1e-6, rounding
    # ε/δ ≈ 2e-10; the central reference adds O(h²) = 1e-10. Allow 10× the truncation scale.
    assert abs(a_full - ref) / ref < 1e-5
    assert abs(linearity - 1) < 1e-5  # A(δ)/A(δ/10) − 1 is the same O(δ) term


def test_spectra_findings(quick_doc):
    """Claim 4 and claim 1 findings exist for every problem, with their deciding numbers."""
    findings = _findings(_section(quick_doc, "spectra"))
    n = len(default_recipe().model.gains)
    assert sum(f.tag == "claim 1" for f in findings) == n
    assert sum(f.tag == "claim 4" and "explode or vanish" in f.claim for f in findings) == n
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
    """Where the section does not flag a heavy tail, Monte Carlo lies within 5 standard errors of the exact variance."""
    randomized = _tables(_section(quick_doc, "strategies"))[1]
    for exact_v, mc, se in zip(
        randomized.column("relative_variance"), randomized.column("mc_relative_variance"), randomized.column("mc_se")
    ):
        if mc is None or exact_v - mc > 4 * se:  # flagged (and explained) by the section
            continue
        assert abs(mc - exact_v) <= 5 * se + 1e-12


def _threshold_and_sgd_tables(section):
    tables = _tables(section)
    thr = next(t for t in tables if "variance threshold" in t.caption)
    sgd = next(t for t in tables if "SGD terms" in t.caption)
    return thr, sgd


def test_threshold_table_is_variance_threshold(quick_doc, ctx):
    """π* per problem equals stability.spectra.variance_threshold on the same driven inputs; validation as measured."""
    import dataclasses

    from stability.report.sections._regimes import regimes
    from stability.report.sections.strategies import side_streams, threshold_grid
    from stability.spectra import measured_threshold, variance_threshold
    from stability.spectra.threshold import threshold_evidence

    thr, _ = _threshold_and_sgd_tables(_section(quick_doc, "strategies"))
    regs = regimes(ctx)
    for i, (r, (inputs, _)) in enumerate(zip(regs, side_streams(ctx, len(regs)))):
        vt = variance_threshold(r.problem.cell, inputs)
        assert thr.column("L2")[i] == vt.L2 and thr.column("pi_star")[i] == vt.pi_star
        assert thr.column("low")[i] == vt.low and thr.column("high")[i] == vt.high
        T = r.spec.T
        m = measured_threshold([dataclasses.replace(r.spec, T=h).build() for h in (max(4, T // 2), T, 2 * T)],
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
                        and p.randomized.name == table.column("strategy")[i])
            assert table.column("relative_truncated_bias2")[i] == pytest.approx(pair.truncated.bias2 / g2, rel=1e-9)
            assert table.column("relative_data_variance")[i] == pytest.approx(ref.data_variance / g2, rel=1e-9)
            shown, se = table.column("relative_xi_variance")[i], table.column("relative_xi_variance_se")[i]
            assert abs(shown - pair.randomized.xi_variance / g2) <= 5 * se
            ratio = table.column("log10_ratio")[i]
            assert table.column("verdict")[i] == ("supported" if ratio >= -0.0458 else "not supported")
    findings = [f for f in _findings(_section(quick_doc, "strategies")) if "SGD updates" in f.claim]
    assert len(findings) == len(regs)
    tags = {f.tag for f in _findings(_section(quick_doc, "strategies"))}
    assert {"claim 1", "claim 2", "claim 3", "claim 5"} <= tags


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
            assert mc is not None and flag == "yes"


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


def test_influence_balancing_table(quick_doc, ctx):
    """The influence-balancing rows are truncation_signs' exact gradients and training outcomes."""
    from stability.experiments import InfluenceTask, truncation_signs

    signs = truncation_signs(InfluenceTask(), ctx.recipe.training.influence_taus)
    table = _tables(_section(quick_doc, "training"))[1]
    assert table.column("gradient") == tuple(float(g) for g in signs.truncated)
    assert table.column("wrong_sign") == tuple("yes" if w else "no" for w in signs.wrong_sign)
    assert table.column("diverged") == table.column("wrong_sign")  # the sign predicts divergence


# --------------------------------------------------------------------------- (f)


def test_findings_mark_each_claim(quick_doc):
    """Section (f) marks each of the five claims with a verdict that follows the stated rule."""
    from stability.report.sections.findings import overall

    section = _section(quick_doc, "findings")
    table = _tables(section)[0]
    assert table.column("claim") == ("Claim 1", "Claim 2", "Claim 3", "Claim 4", "Claim 5")
    all_findings = [f for s in quick_doc.sections[:-1] for f in _findings(s)]
    for claim, verdict in zip(table.column("claim"), table.column("verdict")):
        tests = tuple(f for f in all_findings if f.tag == claim.lower())
        assert tests, claim
        assert verdict == overall(tests).value


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
    """Columns that measure time, different in every run."""
    return {c.key for c in table.columns if c.unit == "s"}


def test_cli_report_shows_the_same_numbers(quick_report, quick_doc):
    """The CLI's quick report.html holds every formatted number of the sections' tables (timings excepted)."""
    import html as html_lib

    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", quick_report.html))
    for section in quick_doc.sections:
        for table in _tables(section):
            skip = _volatile(table)
            for row in table.formatted_rows():
                for col, cell in zip(table.columns, row):
                    if col.kind != "text" and col.key not in skip:
                        assert cell in text, (section.id, col.key, cell)


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
