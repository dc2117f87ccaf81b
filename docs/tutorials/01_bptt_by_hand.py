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
# # 1. BPTT by hand
#
# This tutorial walks through §8.7 of the chapter — backpropagation through
# time for a recurrent network $h_t = f(x_t, h_{t-1}, w_h)$ — with the
# symbolic layer (`stability.symbolic`, SymPy), and then checks every formula
# with numbers. Equation numbers refer to `docs/SPEC.md`.
#
# **What you will see:** the recursion (4) and its closed form (7), the
# lemma (5) proved for every $t$ by induction, the two regular truncations,
# and randomized truncation (8) with $\mathrm{E}[z_t] = \partial h_t/\partial w_h$
# *proven*, then confirmed by complex-step derivatives and Monte Carlo.

# %%
import numpy as np

from stability import symbolic

# %% [markdown]
# ## The recursion and its closed form (eqs. 4 and 7)
#
# Differentiating $h_t = f(x_t, h_{t-1}(w_h), w_h)$ by the chain rule and
# naming $b_t = \partial f/\partial w_h$ and $c_t = \partial f/\partial h_{t-1}$
# gives $a_t = b_t + c_t a_{t-1}$ with $a_t = \partial h_t/\partial w_h$.
# Unrolled at $t = 4$:

# %%
expansion = symbolic.expand(4)
print(expansion)

# %% [markdown]
# `verify()` is a proof, not a test: the residual between the unrolled
# recursion and the closed form is reduced to 0 by SymPy.

# %%
proof = expansion.verify()
print(bool(proof), "-", proof)

# %% [markdown]
# For matrices the order matters — the latest Jacobian stands on the left.
# The `matrix` kind uses non-commuting symbols:

# %%
matrix = symbolic.expand(4, kind="matrix")
print(matrix.closed_form)
print(bool(matrix.verify()))

# %% [markdown]
# ## The lemma (eq. 5), for every t
#
# The recursion $a_t = b_t + c_t a_{t-1}$ unrolls to
# $a_t = b_t + \sum_{i<t} c_t \cdots c_{i+1} b_i$. `lemma(8)` proves it for
# each $t \le 8$ with matrices; `induction_step()` proves it for *all* $t$,
# with $t$ a symbol: base case, three rewrites each certified by a SymPy
# routine, and a remainder that expands to 0.

# %%
print(bool(symbolic.lemma(8, kind="matrix").verify()))
induction = symbolic.induction_step()
for step in induction.steps:
    print("-", step.rule)
print("induction proof:", bool(induction.verify()))

# %% [markdown]
# ## The three strategies
#
# **Regular truncation** keeps the lags $0..\tau$ (window form) or the lags
# inside the current piece of $\tau$ steps (chunked form, the usual training
# loop):

# %%
print(symbolic.truncated(4, 2, mode="window"))
print(symbolic.truncated(4, 2, mode="chunked"))

# %% [markdown]
# **Randomized truncation** (eq. 8) multiplies each Jacobian by an
# independent $\xi_j$ with $P(\xi_j = 1/\pi_j) = \pi_j$ and
# $P(\xi_j = 0) = 1 - \pi_j$:

# %%
randomized = symbolic.randomized(4)
print(randomized)

# %% [markdown]
# Its expectation is the full gradient — proven symbolically: the
# expectation over the $\xi$'s of $z_4$ equals eq. (7) exactly.

# %%
mean = randomized.expectation()
print(mean)
print("E[z_t] = dh_t/dw_h proven:", bool(randomized.verify()))

# %% [markdown]
# The variance has a closed form as well (it grows with the products of
# $c$'s and with $1/\pi$):

# %%
randomized.variance()

# %% [markdown]
# ## Now with numbers
#
# Take the scalar tanh cell $h_t = \tanh(w h_{t-1} + u x_t + b)$. Then
# $b_t = (1 - h_t^2)\, h_{t-1}$ and $c_t = (1 - h_t^2)\, w$. The closed form
# (7), turned into a NumPy function by `lambdify`, must equal the derivative
# of $h_t$ with respect to $w$ — computed here independently with a
# complex-step derivative (exact to rounding, no subtraction).

# %%
t = 4
w, u, bias = 0.9, 0.7, 0.1
rng = np.random.default_rng(0)
x = rng.normal(size=t)


def run(w_value):
    h = [0.0 + 0.0j]
    for k in range(t):
        h.append(np.tanh(w_value * h[-1] + u * x[k] + bias))
    return np.array(h)


h = run(w).real
b_terms = [(1 - h[k] ** 2) * h[k - 1] for k in range(1, t + 1)]
c_terms = [(1 - h[k] ** 2) * w for k in range(1, t + 1)]
closed = expansion.lambdify()(b_terms, c_terms)
complex_step = run(w + 1e-30j)[t].imag / 1e-30
print(f"closed form (7): {closed:.15f}")
print(f"complex step   : {complex_step:.15f}")
assert abs(closed - complex_step) <= 1e-13 * abs(complex_step)

# %% [markdown]
# And $\mathrm{E}[z_t] = \partial h_t/\partial w_h$ by Monte Carlo: draw the
# $\xi$'s, form $z_4 = b_4 + \xi_4 c_4 b_3 + \xi_4\xi_3 c_4 c_3 b_2 + \dots$,
# average. The mean must fall within a few standard errors of the exact value.

# %%
pi = 0.6
draws = 200_000
xi = np.where(rng.random((draws, t)) < pi, 1.0 / pi, 0.0)
z = np.full(draws, b_terms[t - 1])
weight = np.ones(draws)
for lag in range(1, t):
    weight = weight * xi[:, t - lag] * c_terms[t - lag]
    z += weight * b_terms[t - lag - 1]
se = z.std(ddof=1) / np.sqrt(draws)
print(f"Monte Carlo mean {z.mean():.5f} ± {se:.5f} (s.e.), exact {complex_step:.5f}")
assert abs(z.mean() - complex_step) <= 4 * se

# %% [markdown]
# The same identities hold for the vector case the numeric engine computes
# (`stability.gradients`): tutorial 2 looks at the size of the terms of
# eq. (7) for real cells, tutorial 3 at what truncating them costs.
