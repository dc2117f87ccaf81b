"""Tests of the segmentation figure data (random, regular, full rows)."""

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import TanhRNN
from stability.errors import InputValueError
from stability.experiments import segmentation_figure


def test_rows_partition_the_text():
    """Each row's pieces concatenate to the text and their bounds tile 1..T."""
    fig = segmentation_figure(chars=50, tau=7, rng=1)
    for row in fig.rows:
        assert "".join(row.pieces) == fig.text
        assert row.bounds[0][0] == 1 and row.bounds[-1][1] == 50
        assert all(b[1] + 1 == c[0] for b, c in zip(row.bounds, row.bounds[1:]))
    assert [len(p) for p in fig.rows[1].pieces] == [7] * 7 + [1]
    assert fig.rows[2].pieces == (fig.text,)


def test_random_cuts_are_where_xi_is_zero():
    """The random row starts a piece at t ≥ 2 exactly where ξ_t = 0."""
    fig = segmentation_figure(chars=60, tau=5, rng=7)
    starts = [a for a, _ in fig.rows[0].bounds[1:]]
    assert starts == (np.flatnonzero(fig.xi[1:] == 0) + 2).tolist()
    assert set(np.unique(fig.xi).tolist()) <= {0.0, 1.0 / fig.pi}


def test_random_draw_is_the_engines_draw():
    """The ξ of the figure equals gradients.randomized's draw on any problem of the same length and seed."""
    fig = segmentation_figure(chars=40, tau=8, pi=0.75, rng=5)
    p = Problem.random(TanhRNN.random(3, 2, rng=0), 40, rng=0)
    assert np.array_equal(fig.xi, gradients.randomized(p, 0.75, rng=5).xi)


def test_default_text_and_plain_text_output():
    """The default text is the corpus opening; to_text() prints three labelled rows."""
    fig = segmentation_figure(chars=32, tau=8, rng=0)
    assert fig.text == "The Time Machine, by H. G. Wells"
    lines = fig.to_text().splitlines()
    assert len(lines) == 3 and lines[2].endswith("|The Time Machine, by H. G. Wells|")


def test_mean_piece_length_near_tau_with_matched_pi():
    """With the matched π the mean random piece length over 200 draws is within 4 s.e. of its exact mean."""
    T, tau = 60, 6
    lengths = []
    counts = []
    for s in range(200):
        fig = segmentation_figure(chars=T, tau=tau, rng=s)
        counts.append(len(fig.rows[0].pieces))
        lengths.extend(b - a + 1 for a, b in fig.rows[0].bounds)
    # number of pieces = 1 + Binomial(T − 1, 1 − π)
    exact = 1 + (T - 1) * (1 - fig.pi)
    se = np.std(counts, ddof=1) / np.sqrt(len(counts))
    assert abs(np.mean(counts) - exact) < 4 * se
    assert exact == pytest.approx(T / tau, rel=1e-12)  # matched π: as many pieces as the regular row


def test_too_short_text_rejected():
    """A text shorter than `chars` raises InputValueError."""
    with pytest.raises(InputValueError, match="`chars`"):
        segmentation_figure("short", chars=10, rng=0)
