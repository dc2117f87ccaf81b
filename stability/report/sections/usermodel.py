"""Section (u): a user's trained model on the user's data (`stability.modelstudy`).

The numbers and decisions come from `stability.modelstudy.study_model`; this
module only lays them out: the model and its cell equations, the Lyapunov
spectrum along the data's trajectories (interval across windows), the per-lag
gradient profile against the prediction, the exact bias and cost of truncation,
randomized truncation where computed, the recommended τ, and the clipping
guidance.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..model import Bullets, Column, Paragraph, Section, Table

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext

__all__ = ["build_usermodel_section", "usermodel_section", "run_user_study", "CELL_EQUATIONS"]

CELL_EQUATIONS = {
    "rnn-tanh": "$h_t = \\tanh(W h_{t-1} + U x_t + b)$ with $b = b_{ih} + b_{hh}$ (torch's two biases summed); "
                "step Jacobian $c_t = \\mathrm{diag}(1 - h_t^2)\\, W$.",
    "rnn-relu": "$h_t = \\max(0, W h_{t-1} + U x_t + b)$ with $b = b_{ih} + b_{hh}$; step Jacobian "
                "$c_t = \\mathrm{diag}(1[h_t > 0])\\, W$.",
    "gru": "torch's GRU: $r, z = \\sigma(\\cdot)$, $n = \\tanh(W_{in} x + b_{in} + r \\odot (W_{hn} h + b_{hn}))$, "
           "$h' = (1 - z) \\odot n + z \\odot h$; the step Jacobian is formed in closed form from the gates.",
    "lstm": "torch's LSTM: state $s = (h, c)$, $c' = f \\odot c + i \\odot g$, $h' = o \\odot \\tanh(c')$; "
            "the step Jacobian is the $2n \\times 2n$ block matrix of $\\partial(h', c')/\\partial(h, c)$.",
}


def run_user_study(weights: str, data_path: str, *, quick: bool, seed: int, length: int | None = None,
                   count: int | None = None, nonlinearity: str = "tanh", tokenizer: str = "char") -> Any:
    """Load the model and the data and run `study_model` (the numeric core)."""
    from ...cells import load_state_dict
    from ...modelstudy import study_model
    from ...userdata import load_data

    model = load_state_dict(weights, nonlinearity=nonlinearity)
    data = load_data(data_path, vocab=model.vocab, tokenizer=tokenizer)
    if length is None:
        length = 256
    if count is None:
        count = 6 if quick else 12
    usable = data.steps - (1 if data.kind == "tokens" else 0)
    length = max(16, min(length, usable // 3))
    return study_model(model, data, length=length, count=count, quick=quick, rng=seed)


def usermodel_section(study: Any) -> tuple[Section, tuple[str, ...]]:
    """The section for a finished `ModelStudy` and its summary sentences."""
    m = study.model
    lam = study.lambda1
    pct = f"{lam.level:.0%}"
    blocks: list[Any] = [
        Paragraph(f"**Model.** {m.describe()}; state size {m.cell.state_size}."
                  + (f" Frozen (absent in the file, zero here): {', '.join(sorted(m.frozen))}." if m.frozen else "")),
        Paragraph(f"**Cell.** {CELL_EQUATIONS.get(m.kind, m.kind)}"
                  + (f" With {m.num_layers} layers the state is all layers' states (top layer first) and the step "
                     "Jacobian is block lower-triangular: layer $l$ feeds layer $l+1$ within the step."
                     if m.num_layers > 1 else "")),
        Paragraph(f"**Data.** `{study.data.source}`: {study.windows} windows of {study.length} steps "
                  f"(evenly spaced, zero initial state); mean loss {study.losses.mean():.4g}."
                  + (" **The data is too short for disjoint windows: they overlap, so the intervals across "
                     "windows, which treat them as independent, are too narrow.**" if study.overlapping else "")),
    ]
    sp = study.spectrum
    k = len(sp.exponents)
    blocks.append(Table(
        columns=(Column("i", "$i$", kind="int"), Column("lam", "$\\lambda_i$", unit="per step"),
                 Column("se", "standard error")),
        rows=tuple((i + 1, float(sp.exponents[i]), float(sp.stderr[i])) for i in range(k)),
        caption=f"Top {k} Lyapunov exponents along the model's trajectories on the data (all windows pooled, "
                f"QR in log space; batch-means standard errors).",
    ))
    blocks.append(Paragraph(
        f"$\\lambda_1$ per window: mean {lam.estimate:.4g}, {pct} t interval across the {lam.n} windows "
        f"[{lam.low:.4g}, {lam.high:.4g}] ({lam.dof:g} dof). Regime: **{study.regime}** (rule: contracting if the "
        f"interval lies below 0, expanding if above, edge if it contains 0)."
    ))
    prof = study.profile
    if prof is not None:
        s, dif = prof.slope, prof.difference
        show = sorted({int(x) for x in (0, 1, 2, 4, 8, 16, 32, 64, 128) if x < len(prof.lags)})
        rows = []
        for lag in show:
            logs = prof.log_norms[:, lag]
            typical = math.exp(float(logs.mean())) if all(map(math.isfinite, logs)) else 0.0
            pred = math.exp(float(prof.log_norms[:, 0].mean()) + study.prediction.lambda1 * lag)
            rows.append((lag, typical, pred))
        blocks.append(Table(
            columns=(Column("k", "lag $k$", kind="int"), Column("measured", "typical ‖lag-k term‖"),
                     Column("predicted", "$e^{\\lambda_1 k}$ × lag 0")),
            rows=tuple(rows),
            caption="Per-lag profile of the exact gradient (geometric mean over windows) and the λ₁ prediction.",
        ))
        blocks.append(Paragraph(
            f"Prediction check: measured slope {s.estimate:.4g} per lag, {pct} CI [{s.low:.4g}, {s.high:.4g}] "
            f"(one fit per window, lags {prof.fit_lags[0]}–{prof.fit_lags[1]}); slope − λ₁ {dif.estimate:.3g} "
            f"[{dif.low:.3g}, {dif.high:.3g}]. Verdict: **{prof.verdict}**. Rule: {prof.rule}."
        ))
    else:
        blocks.append(Paragraph(f"Prediction check not run: {study.profile_error}."))
    blocks.append(Table(
        columns=(Column("tau", "$\\tau$", kind="int"), Column("bias", "relative bias"),
                 Column("low", f"{pct} low"), Column("high", f"{pct} high"), Column("cost", "backward steps")),
        rows=tuple((r.tau, float(r.interval.estimate), float(r.interval.low), float(r.interval.high),
                    float(r.backward_steps)) for r in study.truncation),
        caption="Window truncation at τ: exact ‖G_τ − G‖/‖G‖ per window (deterministic, variance 0), mean and t "
                "interval across windows; expected backward steps per window.",
    ))
    if study.randomized:
        blocks.append(Table(
            columns=(Column("pi", "$\\pi$"), Column("bias", "relative bias"), Column("var", "relative variance"),
                     Column("mse", "relative MSE"), Column("cost", "backward steps")),
            rows=tuple((r.pi, r.relative_bias, r.relative_variance, r.relative_mse, r.backward_steps)
                       for r in study.randomized),
            caption="Randomized truncation (constant π): exact mean (bias) and variance by the moment recursion "
                    "(trace by Hutchinson probes), averaged over windows.",
        ))
    else:
        blocks.append(Paragraph(f"Randomized truncation: {study.randomized_note}."))
    ps = study.pi_star
    if ps is not None:
        blocks.append(Paragraph(
            f"Variance threshold of randomized truncation: $\\pi^* = e^{{L(2)}}$ = {ps.pi_star:.3g}, {pct} interval "
            f"[{ps.pi_star_low:.3g}, {ps.pi_star_high:.3g}] (jackknife over {ps.groups} groups of windows); a constant "
            f"keep probability below π* gives a variance that grows exponentially with the sequence length."
        ))
    else:
        blocks.append(Paragraph(f"Variance threshold π*: {study.pi_star_note}."))
    rec = study.recommended_tau
    pt = study.predicted_tau
    pt_txt = "none (λ₁ near the edge)" if pt is None else str(pt)
    ptb = study.predicted_tau_bias
    blocks.append(Paragraph(
        f"**Recommended τ = {rec if rec is not None else 'none on the grid: use full BPTT'}** — the smallest τ "
        f"whose upper {pct} bound of the exact relative bias is at most {study.bias_target:g}. "
        f"λ₁ alone predicts τ = {pt_txt}"
        + (f", whose measured relative bias is {ptb.estimate:.3g} [{ptb.low:.3g}, {ptb.high:.3g}]." if ptb else ".")
    ))
    c = study.clipping
    blocks.append(Table(
        columns=(Column("theta", "$\\theta$"), Column("frac", "fraction clipped"), Column("flo", f"{pct} low"),
                 Column("fhi", f"{pct} high"), Column("bias", "relative bias of clipping"),
                 Column("blo", f"{pct} low"), Column("bhi", f"{pct} high")),
        rows=tuple((float(c.thetas[i]), float(c.fraction[i]), float(c.fraction_low[i]), float(c.fraction_high[i]),
                    float(c.relative_bias[i]), float(c.bias_low[i]), float(c.bias_high[i]))
                   for i in range(len(c.thetas))),
        caption="Gradient clipping at θ: share of windows whose full-gradient norm exceeds θ (Clopper–Pearson "
                "interval) and ‖E clip_θ(G) − E G‖/‖E G‖ over windows (percentile bootstrap).",
    ))
    blocks.append(Bullets(tuple(
        [f"full-gradient norm over windows: " + ", ".join(f"{k} {v:.4g}" for k, v in c.quantiles.items()),
         "norms cover the recurrent parameters and the readout (not the embedding); one window = one sequence, "
         "so a batch of B windows averages B such gradients",
         "timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in study.timings.items())]
    )))
    summary = (f"Your model ({m.kind}, {m.num_layers} layer(s)) on {study.data.source}: λ₁ = {lam.estimate:.3g} "
               f"[{lam.low:.3g}, {lam.high:.3g}], regime {study.regime}; recommended τ = {rec}.")
    return Section("Your model on your data", blocks=tuple(blocks), id="usermodel"), (summary,)


def build_usermodel_section(ctx: "StudyContext") -> "SectionOutput":
    """Section builder: runs the study on the recipe's ``[model] weights`` and ``[data] path``."""
    from .._context import SectionOutput, SectionUnavailable

    weights = getattr(ctx.recipe.model, "weights", "")
    data = getattr(getattr(ctx.recipe, "data", None), "path", "")
    if not weights or not data:
        raise SectionUnavailable("the recipe names no `[model] weights` and `[data] path`")
    study = run_user_study(weights, data, quick=ctx.quick, seed=ctx.seed,
                           tokenizer=getattr(ctx.recipe.data, "tokenizer", "char"),
                           nonlinearity=getattr(ctx.recipe.model, "nonlinearity", "tanh"))
    section, summaries = usermodel_section(study)
    return SectionOutput(section=section, summaries=summaries)
