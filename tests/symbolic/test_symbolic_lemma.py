"""The lemma (SPEC eq. 5): checked for each t, and proven by induction for symbolic t."""

from __future__ import annotations

import pytest
import sympy as sp
from sympy.simplify.simplify import sum_simplify

from stability import symbolic
from stability.errors import InputValueError


@pytest.mark.parametrize("kind", ["scalar", "matrix"])
def test_lemma_holds_for_every_t_up_to_8(kind):
    """a_0 = 0, a_t = b_t + c_t a_{t-1} ⇒ eq. (5), for each t = 1..8, both kinds."""
    lem = symbolic.lemma(8, kind=kind)
    proof = lem.verify()
    assert proof
    assert len(proof.reduced) == 8 and all(r == 0 for r in proof.reduced)


def test_lemma_lambdify_agrees_with_recursion():
    """Lemma.lambdify gives a_1..a_4 of the recursion for integer data (exact in floats)."""
    b, c = [1.0, 2.0, 3.0, 4.0], [5.0, 0.5, 2.0, -1.0]
    a, expected = 0.0, []
    for s in range(4):
        a = b[s] + c[s] * a
        expected.append(a)
    assert symbolic.lemma(4).lambdify()(b, c) == expected  # a = 1, 2.5, 8, -4


def test_induction_step_is_proven():
    """Base case A(1) = b_1 and A(t+1) = b_{t+1} + c_{t+1} A(t), t symbolic, are proven."""
    proof = symbolic.induction_step()
    result = proof.verify()
    assert result.verdict
    assert proof.base.after == sp.IndexedBase("b")[1]
    assert all(step.verdict for step in proof.steps)
    assert [s.rule for s in proof.steps][0] == "split off the summand i = t"


def test_induction_step_uses_symbolic_sum_and_product():
    """The closed form A(t) is a SymPy Sum of Products with the symbolic upper limit t."""
    proof = symbolic.induction_step()
    sums = list(proof.closed.atoms(sp.Sum))
    assert len(sums) == 1
    assert sums[0].limits[0][2] == proof.t - 1
    assert proof.closed.has(sp.Product)


def test_sum_certificate_is_not_vacuous():
    """Negative control: the rule that certifies step 1 rejects a wrong split (gap at i = t)."""
    t, i = sp.symbols("t i", integer=True, positive=True)
    b = sp.IndexedBase("b")
    wrong = sp.Sum(b[i], (i, 1, t - 1)) + sp.Sum(b[i], (i, t + 1, t + 1)) - sp.Sum(b[i], (i, 1, t))
    assert sum_simplify(wrong) != 0


def test_lemma_rejects_bad_bound():
    """lemma() validates its bound."""
    with pytest.raises(InputValueError, match=r"`bound` must be a positive integer; got 0\."):
        symbolic.lemma(0)
