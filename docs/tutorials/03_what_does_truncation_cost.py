# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. What does truncation cost me?
#
# Every strategy estimates $G = \partial L/\partial w$ from some of the terms
# of eq. (7). Regular truncation drops the long lags (a bias, no variance);
# randomized truncation keeps them at random and re-weights them by $1/\pi$
# (no bias, a variance). `stability.estimators.exact` computes bias, variance,
# MSE and expected cost **exactly** — no sampling: $\xi$ enters the backward
# pass affinely and independently per step, so its moments follow recursions.
# Monte Carlo is only the cross-check.

# %%
import numpy as np

from stability import Problem, estimators, gradients, plot, spectra
from stability.cells import TanhRNN

cell = TanhRNN.random(16, 3, gain=1.0, rng=0)
problem = Problem.random(cell, T=48, batch=2, rng=1)
tape = gradients.forward(problem)  # one cached forward pass, shared by every estimate below

# %% [markdown]
# ## Regular truncation: bias against τ

# %%
taus = (1, 2, 4, 8, 16, 32)
window = [estimators.exact(tape, estimators.Truncated(tau)) for tau in taus]
chunked = [estimators.exact(tape, estimators.Truncated(tau, mode="chunked")) for tau in taus]
for tau, w, c in zip(taus, window, chunked):
    print(f"τ = {tau:>2}: relative bias window {w.relative_bias:.2e}, chunked {c.relative_bias:.2e}; "
          f"backward steps {w.cost.backward_steps:.0f} / {c.cost.backward_steps:.0f}")

# %%
ax = plot.strategy_curves({"window": window, "chunked": chunked}, x="tau")

# %% [markdown]
# The bias is exactly the dropped terms: the window-truncated gradient is the
# sum of the lag terms $0..\tau$. Checked against the gradient computed
# directly by `gradients.truncated`:

# %%
G = gradients.full(tape).vector()
direct = gradients.truncated(problem, 4).vector()
print(f"{np.linalg.norm(direct - G) / np.linalg.norm(G):.6e} (direct)  vs  {window[2].relative_bias:.6e} (exact statistics)")

# %% [markdown]
# ## Randomized truncation: variance against π
#
# Unbiased for every π; its variance grows as π falls. Each exact value comes
# with a Monte Carlo estimate (2,000 draws of ξ) and its standard error.

# %%
pis = (0.3, 0.5, 0.7, 0.9)
exact = [estimators.exact(tape, estimators.Randomized(pi)) for pi in pis]
mc = [estimators.monte_carlo(tape, estimators.Randomized(pi), 2000, rng=i) for i, pi in enumerate(pis)]
for pi, e, m in zip(pis, exact, mc):
    z = (m.variance - e.variance) / m.variance_se
    print(f"π = {pi}: exact variance {e.variance:.4e}, Monte Carlo {m.variance:.4e} ± {m.variance_se:.1e} "
          f"(z = {z:+.1f}); relative bias {e.relative_bias:.1e}")

# %%
ax = plot.strategy_curves({"randomized": exact}, x="pi", monte_carlo={"randomized": mc})

# %% [markdown]
# ## At equal cost
#
# What matters in practice is the error per unit of compute. Against the
# expected number of backward steps (Jacobian products) per sequence:

# %%
ax = plot.strategy_curves({"window τ": window, "chunked τ": chunked, "randomized π": exact}, x="cost",
                          monte_carlo={"randomized π": mc})

# %% [markdown]
# `compare_at_equal_cost` pairs chunked truncation at τ with randomized
# truncation at the π of the same expected cost:

# %%
comparison = estimators.compare_at_equal_cost(tape, taus=[2, 4, 8, 16])
print(comparison.sentence())
comparison

# %% [markdown]
# ## The threshold π*
#
# With a constant π the lag-$k$ part of the second moment scales like
# $(e^{L(2)}/\pi)^k$, $L(2)$ the order-2 generalized Lyapunov exponent; below
# $\pi^* = e^{L(2)}$ the variance diverges exponentially in $T$ (SPEC §7).
# `spectra.variance_threshold` estimates it from a long trajectory:

# %%
inputs = np.random.default_rng(5).normal(size=(3000, 3))
threshold = spectra.variance_threshold(cell, inputs, rng=6)
print(threshold.summary())

# %% [markdown]
# π = 0.3 lies below the threshold: that is where Monte Carlo fell far short
# of the exact variance above. The variance there lives in rare ξ sequences
# that keep long runs of Jacobians, each re-weighted by a power of 1/π —
# too rare for 2,000 draws. The exact values are the ones to trust; keep π
# well above π*, or truncate.

# %%
for pi in pis:
    print(f"π = {pi}: variance diverges in T? {threshold.diverges(pi)}")
