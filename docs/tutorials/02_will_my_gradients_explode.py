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
# # 2. Will my gradients explode?
#
# The lag-$k$ term of the BPTT gradient (eq. 7) carries the product
# $c_t c_{t-1} \cdots c_{t-k+1}$ of $k$ step Jacobians. Along a trajectory its
# norm grows or shrinks like $e^{\lambda_1 k}$, with $\lambda_1$ the top
# Lyapunov exponent (SPEC §5). This tutorial
#
# 1. estimates $\lambda_1$ for random tanh cells at three gains,
# 2. turns it into a prediction (regime, horizons, a recommended truncation τ),
# 3. checks the prediction against the measured per-lag gradient of the
#    problem, and
# 4. does the same for a small `torch.nn.RNN` after training.

# %%
import numpy as np

from stability import Problem, gradients, plot, spectra
from stability.cells import TanhRNN

# %% [markdown]
# ## A random cell
#
# `TanhRNN.random(n, m, gain=g)` draws recurrent weights $W \sim N(0, g^2/n)$.
# A `Problem` adds inputs, targets and a linear readout.

# %%
cell = TanhRNN.random(32, 4, gain=0.7, rng=0)
problem = Problem.random(cell, T=60, batch=4, rng=1)
problem

# %% [markdown]
# `spectra.predict` estimates $\lambda_1$ on the problem's own trajectory
# (QR re-orthonormalisation in log space, with a batch-means standard error)
# and says what it implies:

# %%
prediction = spectra.predict(problem)
print(prediction.summary())

# %% [markdown]
# The same object renders as a table in a notebook:

# %%
prediction

# %% [markdown]
# ## Does the gradient do what λ₁ says?
#
# `gradients.lag_contributions` splits the exact gradient by lag; `plot.lag_profile`
# draws the norm of each lag's term, with the slope $\lambda_1$ predicts over it.

# %%
lags = gradients.lag_contributions(problem)
ax = plot.lag_profile(lags, prediction, label="gain 0.7")

# %% [markdown]
# `spectra.check` makes this a test that can fail: it fits the typical per-term
# rate over independent data draws and compares it with $\lambda_1$, each with
# its interval.

# %%
agreement = spectra.check(problem)
print(agreement.summary())

# %% [markdown]
# ## Three gains
#
# Contracting, near the edge, expanding. The recommended τ is the smallest
# window truncation whose relative bias is provably below the tolerance —
# `None` means no short window is safe (use full BPTT).

# %%
rows = []
ax = None
for i, gain in enumerate((0.5, 1.0, 2.0)):
    p = Problem.random(TanhRNN.random(32, 4, gain=gain, rng=0), T=60, batch=4, rng=1)
    pred = spectra.predict(p)
    rows.append((gain, pred.regime, pred.lambda1, pred.lambda1_stderr, pred.recommended_tau))
    ax = plot.lag_profile(gradients.lag_contributions(p), pred, ax=ax, label=f"gain {gain:g}", index=i)
for gain, regime, lam, se, tau in rows:
    print(f"gain {gain:>4}: {regime:<10} λ₁ = {lam:+.3f} ± {se:.3f} per step, recommended τ = {tau}")

# %% [markdown]
# The recommended τ is checked against the *exact* relative bias of window
# truncation (`stability.estimators.exact`, no sampling) for the contracting cell:

# %%
from stability import estimators

p = Problem.random(TanhRNN.random(32, 4, gain=0.5, rng=0), T=60, batch=4, rng=1)
pred = spectra.predict(p)
if pred.recommended_tau is not None:
    stats = estimators.exact(p, estimators.Truncated(pred.recommended_tau))
    print(f"τ = {pred.recommended_tau}: exact relative bias {stats.relative_bias:.2e} (tolerance {pred.tol:g})")

# %% [markdown]
# The full Lyapunov spectrum — not only λ₁ — and the singular values of the
# long products themselves:

# %%
spectrum = spectra.lyapunov_spectrum(cell, np.random.default_rng(2).normal(size=(2000, 4)), k=8, rng=3)
ax = plot.spectrum(spectrum, label="gain 0.7")

# %%
ax = plot.product_singular_values(spectra.product_spectrum(problem, eigenvalues=True), label="gain 0.7")

# %% [markdown]
# ## A trained `torch.nn.RNN`
#
# Train a small `nn.RNN` for a few hundred steps on a toy task (predict the
# sum of the last three inputs), convert it with `cells.from_torch`, and ask
# the same question of the trained weights.

# %%
import torch

from stability.cells import from_torch

torch.manual_seed(0)
rnn = torch.nn.RNN(input_size=1, hidden_size=16, batch_first=False)
head = torch.nn.Linear(16, 1)
opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-2)
gen = torch.Generator().manual_seed(1)
for step in range(150):
    x = torch.randn(40, 32, 1, generator=gen)
    y = x + torch.roll(x, 1, 0) + torch.roll(x, 2, 0)
    out, _ = rnn(x)
    loss = ((head(out) - y) ** 2)[3:].mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"final training loss {loss.item():.4f}")

# %%
trained = from_torch(rnn)
x = np.random.default_rng(4).normal(size=(60, 4, 1))
y = x + np.roll(x, 1, 0) + np.roll(x, 2, 0)
readout = {"V": head.weight.detach().double().numpy(), "c": head.bias.detach().double().numpy()}
trained_problem = Problem(trained, x, y, readout=readout)
trained_prediction = spectra.predict(trained_problem)
print(trained_prediction.summary())

# %%
ax = plot.lag_profile(gradients.lag_contributions(trained_problem), trained_prediction, label="trained nn.RNN")

# %% [markdown]
# The converted cell's gradient is the gradient torch computes — checked here
# against autograd on the same data:

# %%
xt = torch.tensor(x)
rnn64, head64 = rnn.double(), head.double()
rnn64.zero_grad()
out, _ = rnn64(xt)
loss = 0.5 * ((head64(out) - torch.tensor(y)) ** 2).sum(-1).mean()
loss.backward()
ours = gradients.full(trained_problem)
ref = rnn64.weight_hh_l0.grad.numpy()
err = np.linalg.norm(ours["W"] - ref) / np.linalg.norm(ref)
print(f"relative difference of ∂L/∂W_hh from torch autograd: {err:.1e}")
assert err < 1e-10
