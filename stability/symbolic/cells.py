r"""Concrete cells: differentiate symbolically, evaluate through ``lambdify``.

For a cell h_t = f(x_t, h_{t-1}, w) SymPy computes the step Jacobian
c = ∂f/∂h_{t-1} (n×n) and, for each parameter, b = ∂f/∂vec(w) (n×p, the
parameter flattened row-major); ``lambdify`` hands them to NumPy, which runs
them along a trajectory to give the per-lag terms of ∂L/∂w (SPEC eqs. 3, 7):

    term_k = (1/(T B)) Σ_{batch} Σ_{t=k+1..T} g_tᵀ (c_t c_{t-1} ⋯ c_{t-k+1}) b_{t-k},

with the readout o_t = V h_t + c_o, the loss l_t = ½‖o_t − y_t‖² and
g_t = ∂l_t/∂h_t = Vᵀ(o_t − y_t). Built in: the linear cell
f = W h + U x + b and the tanh cell f = tanh(W h + U x + b) for any sizes
(scalar: ``hidden=1, inputs=1``); any scalar cell typed by a user goes
through :func:`~stability.symbolic.parse_cell`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .._validate import as_float_array, as_int, check_shape, describe
from ..errors import InputTypeError, InputValueError, ResourceError, ShapeError
from ._display import ShowsMath, Verification
from .derivation import closed_form_terms
from .parser import ParsedCell, expansion_terms, parse_cell

__all__ = ["concrete", "ConcreteCell", "Trajectory", "BUILTIN_CELLS"]

BUILTIN_CELLS = ("tanh", "linear")
#: Largest estimated work of `ConcreteCell.verify` (`ConcreteCell.verification_size`); about 20 s of SymPy.
MAX_VERIFY_SIZE = 50_000


def _matrix(prefix: str, rows: int, cols: int | None) -> sp.Matrix:
    """A matrix (or column, ``cols=None``) of real symbols named W12, b1, ..."""
    sep = "_" if max(rows, cols or 1) >= 10 else ""
    if rows == 1 and (cols in (None, 1)):
        return sp.Matrix([[sp.Symbol(prefix, real=True)]])
    if cols is None:
        return sp.Matrix([sp.Symbol(f"{prefix}{i}", real=True) for i in range(1, rows + 1)])
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{prefix}{i + 1}{sep}{j + 1}", real=True))


def _ro(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class Trajectory:
    """One sequence through a concrete cell (read-only arrays, row t−1 = step t).

    Attributes
    ----------
    states : ndarray, shape (T + 1, n)
        h_0..h_T.
    c : ndarray, shape (T, n, n)
        c_t = ∂f(x_t, h_{t-1}, w)/∂h_{t-1}.
    b : dict of str to ndarray, shape (T, n, p)
        b_t = ∂f(x_t, h_{t-1}, w)/∂vec(w) for each parameter.
    g : ndarray, shape (T, n)
        g_t = ∂l_t/∂h_t = Vᵀ(V h_t + c − y_t).
    """

    states: np.ndarray
    c: np.ndarray
    b: dict
    g: np.ndarray


@dataclass(frozen=True, repr=False)
class ConcreteCell(ShowsMath):
    r"""A cell with its symbolic step, Jacobians and NumPy evaluation.

    Attributes
    ----------
    name : str
        ``"tanh"``, ``"linear"`` or the user's text.
    state : sympy.Matrix
        h_{t-1}, a column of n symbols.
    inputs : sympy.Matrix
        x_t, a column of m symbols.
    parameters : dict of str to sympy.Matrix
        Parameter symbols, each with the shape in *shapes*.
    shapes : dict of str to tuple
        NumPy shape of each parameter (``()`` for a scalar of a user cell).
    step : sympy.Matrix
        f(x_t, h_{t-1}, w), n×1.
    jacobian : sympy.Matrix
        c = ∂f/∂h_{t-1}, n×n.
    parameter_jacobians : dict of str to sympy.Matrix
        b = ∂f/∂vec(w), n×p for each parameter (row-major flattening).
    """

    name: str
    state: sp.Matrix
    inputs: sp.Matrix
    parameters: dict
    shapes: dict
    step: sp.Matrix
    jacobian: sp.Matrix
    parameter_jacobians: dict
    _numeric: dict = field(default_factory=dict, compare=False)

    @property
    def hidden(self) -> int:
        return self.state.rows

    @property
    def n_inputs(self) -> int:
        return self.inputs.rows

    def _title(self) -> str:
        return f"{self.name} cell (n = {self.hidden}, m = {self.n_inputs}): step f, Jacobian c = ∂f/∂h, b = ∂f/∂w"

    def _scalarish(self, m: sp.Matrix) -> sp.Basic:
        return m[0, 0] if m.shape == (1, 1) else m

    def _math(self):
        lines = [
            sp.Eq(sp.Symbol("f"), self._scalarish(self.step), evaluate=False),
            sp.Eq(sp.Symbol("c"), self._scalarish(self.jacobian), evaluate=False),
        ]
        for pname, jac in self.parameter_jacobians.items():
            lines.append(sp.Eq(sp.Symbol(f"b_{pname}"), self._scalarish(jac), evaluate=False))
        return lines

    def __repr__(self) -> str:
        return f"ConcreteCell({self.name!r}, hidden={self.hidden}, inputs={self.n_inputs})"

    # ------------------------------------------------------------------ numbers
    def _arguments(self) -> list:
        args = [list(self.state), list(self.inputs)]
        args += [list(self.parameters[p]) for p in self.parameters]
        return args

    def lambdify(self) -> dict:
        """NumPy functions of ``(h, x, *params)``, each argument a flat sequence.

        Returns a dict with ``"step"`` (→ (n, 1)), ``"jacobian"`` (→ (n, n)) and
        ``"b:<name>"`` (→ (n, p)) for every parameter; parameters are passed
        flattened row-major, in the order of :attr:`parameters`.
        """
        if not self._numeric:
            args = self._arguments()
            self._numeric["step"] = sp.lambdify(args, self.step, "numpy", cse=True)
            self._numeric["jacobian"] = sp.lambdify(args, self.jacobian, "numpy", cse=True)
            for pname, jac in self.parameter_jacobians.items():
                self._numeric[f"b:{pname}"] = sp.lambdify(args, jac, "numpy", cse=True)
        return dict(self._numeric)

    def _check_data(self, params, inputs, targets, readout, initial_state):
        if not isinstance(params, Mapping) or set(params) != set(self.parameters):
            raise InputValueError(
                f"`params` must be a mapping with exactly the keys {list(self.parameters)}; got {describe(params)}."
            )
        arrays = {}
        for pname, shape in self.shapes.items():
            arr = as_float_array(f"params[{pname!r}]", params[pname])
            check_shape(f"params[{pname!r}]", arr, shape)
            arrays[pname] = arr
        x = as_float_array("inputs", inputs, ndim=(2, 3))
        batched = x.ndim == 3
        x = x if batched else x[:, None, :]
        T, B, m = x.shape
        if T == 0 or B == 0:
            raise ShapeError(f"`inputs` must hold at least one step and one sequence; got {describe(x)}.")
        check_shape("inputs", x, (None, None, self.n_inputs))
        if not isinstance(readout, Mapping) or set(readout) != {"V", "c"}:
            raise InputValueError(f"`readout` must be a mapping with keys 'V' and 'c'; got {describe(readout)}.")
        V = as_float_array("readout['V']", readout["V"], ndim=2)
        check_shape("readout['V']", V, (None, self.hidden))
        co = as_float_array("readout['c']", readout["c"], ndim=1)
        check_shape("readout['c']", co, (V.shape[0],))
        y = as_float_array("targets", targets, ndim=3 if batched else 2)
        check_shape("targets", y, (T, B, V.shape[0]) if batched else (T, V.shape[0]))
        y = y if batched else y[:, None, :]
        if initial_state is None:
            h0 = np.zeros((B, self.hidden))
        else:
            h0 = as_float_array("initial_state", initial_state, ndim=2 if batched else 1)
            h0 = h0 if batched else h0[None, :]
            check_shape("initial_state", h0, (B, self.hidden))
        return arrays, x, y, V, co, h0

    def trajectory(self, params, inputs, targets, *, readout, initial_state=None) -> Trajectory:
        """The quantities of SPEC §2 along one sequence, from the lambdified cell.

        *inputs* (T, m), *targets* (T, q), *initial_state* (n,) (zeros by
        default); see :meth:`lag_terms` for the other arguments. Returns a
        :class:`Trajectory` with h_0..h_T, c_t, b_t and g_t = Vᵀ(o_t − y_t).
        """
        arrays, x, y, V, co, h0 = self._check_data(params, inputs, targets, readout, initial_state)
        if x.shape[1] != 1:
            raise ShapeError(f"`inputs` must be one sequence of shape (T, m) here; got {describe(np.asarray(inputs))}.")
        flat = [arrays[p].reshape(-1) for p in self.parameters]
        states, jac, bs = self._trajectory(flat, x[:, 0], h0[0])
        g = (states[1:] @ V.T + co - y[:, 0]) @ V
        return Trajectory(states=_ro(states), c=_ro(jac), b={p: _ro(v) for p, v in bs.items()}, g=_ro(g))

    def _trajectory(self, flat_params, x_seq, h0):
        """States h_0..h_T (T+1, n), Jacobians c_t (T, n, n), b_t per parameter."""
        fns = self.lambdify()
        T = x_seq.shape[0]
        n = self.hidden
        dtype = np.result_type(x_seq, h0, *flat_params)
        states = np.empty((T + 1, n), dtype=dtype)
        states[0] = h0
        jac = np.empty((T, n, n), dtype=dtype)
        bs = {p: np.empty((T, n, len(self.parameters[p])), dtype=dtype) for p in self.parameters}
        for t in range(T):
            args = (states[t], x_seq[t], *flat_params)
            jac[t] = fns["jacobian"](*args)
            for p in self.parameters:
                bs[p][t] = fns[f"b:{p}"](*args)
            states[t + 1] = np.asarray(fns["step"](*args)).reshape(n)
        return states, jac, bs

    def loss(self, params, inputs, targets, *, readout, initial_state=None) -> float | complex:
        """L = (1/(T B)) Σ ½‖V h_t + c − y_t‖² along the lambdified trajectory.

        Complex parameters are accepted (complex-step differentiation).
        """
        arrays, x, y, V, co, h0 = self._check_data(params, inputs, targets, readout, initial_state)
        flat = [arrays[p].reshape(-1) for p in self.parameters]
        T, B, _ = x.shape
        total = 0.0
        for s in range(B):
            states, _, _ = self._trajectory(flat, x[:, s], h0[s])
            r = states[1:] @ V.T + co - y[:, s]
            total = total + 0.5 * np.sum(r * r)
        return total / (T * B)

    def lag_terms(self, params, inputs, targets, *, readout, initial_state=None, max_lag=None) -> dict:
        """The per-lag terms of ∂L/∂w for every cell parameter.

        Parameters
        ----------
        params : mapping of str to ndarray
            The values of :attr:`parameters`, shapes as in :attr:`shapes`.
        inputs : ndarray, shape (T, m) or (T, B, m)
        targets : ndarray, shape (T, q) or (T, B, q)
        readout : mapping with ``"V"`` (q, n) and ``"c"`` (q,), keyword-only
        initial_state : ndarray, shape (n,) or (B, n), optional
            h_0; zeros by default.
        max_lag : int, optional
            Largest lag kept (K = max_lag + 1); default T − 1.

        Returns
        -------
        dict of str to ndarray
            ``terms[name]`` of shape (K, *shapes[name]); lag k on axis 0. The
            sum over lags is ∂L/∂w (SPEC eq. 3 with eq. 7).
        """
        arrays, x, y, V, co, h0 = self._check_data(params, inputs, targets, readout, initial_state)
        T, B, _ = x.shape
        K = T if max_lag is None else min(as_int("max_lag", max_lag, minimum=0) + 1, T)
        flat = [arrays[p].reshape(-1) for p in self.parameters]
        out = {p: np.zeros((K, len(self.parameters[p])), dtype=np.result_type(x, *flat)) for p in self.parameters}
        for s in range(B):
            states, jac, bs = self._trajectory(flat, x[:, s], h0[s])
            g = (states[1:] @ V.T + co - y[:, s]) @ V  # g_t = Vᵀ(o_t − y_t), rows t = 1..T
            for t in range(T):  # row t holds step t + 1
                row = g[t]
                for k in range(min(K, t + 1)):
                    for p in self.parameters:
                        out[p][k] += row @ bs[p][t - k]
                    row = row @ jac[t - k]
        return {p: v.reshape((K,) + self.shapes[p]) / (T * B) for p, v in out.items()}

    def gradient(self, params, inputs, targets, *, readout, initial_state=None) -> dict:
        """∂L/∂w for every cell parameter: the sum over lags of :meth:`lag_terms`."""
        terms = self.lag_terms(params, inputs, targets, readout=readout, initial_state=initial_state)
        return {p: v.sum(axis=0) for p, v in terms.items()}

    # ------------------------------------------------------------------ proof
    def verification_size(self, t: int) -> int:
        """Estimated work of ``verify(t)``: expanded terms of h_t (bound of `expansion_terms`,
        unrolled t times) × parameter entries × state size.  Nothing is expanded."""
        sizes = {s: 1 for s in self.state}
        chain, b_terms = 1, 1
        for _ in range(t):  # c_s and b_s are evaluated on the unrolled state h_{s-1}
            chain = min(chain * max(expansion_terms(e, sizes) for e in self.jacobian), 10**30)
            b_terms = max([b_terms] + [expansion_terms(e, sizes) for j in self.parameter_jacobians.values() for e in j])
            sizes = {s: expansion_terms(e, sizes) for s, e in zip(self.state, self.step)}
        entries = sum(len(v) for v in self.parameters.values())
        # direct side: the expanded h_t; closed side: products of t Jacobians (n^(t-1) paths per entry) times b
        closed = min(self.hidden ** (t - 1) * chain * b_terms, 10**30)
        return max(max(sizes.values()), closed) * entries * self.hidden

    def _check_expansion(self, t: int) -> None:
        size = self.verification_size(t)
        if size > MAX_VERIFY_SIZE:
            raise ResourceError(
                f"`t` = {t}: verify() of the {self.name} cell would expand about {_magnitude(size)} term-entries "
                f"(expanded terms of h_{t} × parameter entries × state size), more than the {MAX_VERIFY_SIZE:.0e} "
                "that finish in seconds; use a smaller t (or a lower-degree cell)."
            )

    def verify(self, t: int = 3) -> Verification:
        """Prove, for this cell, that SymPy's derivative of the unrolled h_t
        equals eq. (7) with c_i, b_i the cell's Jacobians along the trajectory.

        h_0 is a column of symbols; for every parameter entry w the residual
        ∂h_t/∂w − Σ_i (c_t ⋯ c_{i+1}) b_i[:, w] is expanded to 0. The nested
        activations appear identically on both sides, so ``expand`` decides
        it without ``simplify``. Cost grows fast with t and n: keep t ≤ 4.
        """
        t = as_int("t", t, minimum=1, maximum=6)
        self._check_expansion(t)
        n = self.hidden
        h = [sp.Matrix([sp.Symbol(f"h0_{i}", real=True) for i in range(1, n + 1)])]
        xs = [sp.Matrix([sp.Symbol(f"x{s}_{j}", real=True) for j in range(1, self.n_inputs + 1)]) for s in range(1, t + 1)]
        cs, bs = [], {p: [] for p in self.parameters}
        for s in range(t):
            at = {**dict(zip(self.state, h[s])), **dict(zip(self.inputs, xs[s]))}
            cs.append(self.jacobian.xreplace(at))
            for p, jac in self.parameter_jacobians.items():
                bs[p].append(jac.xreplace(at))
            h.append(self.step.xreplace(at))
        residuals = []
        for p in self.parameters:
            direct = h[t].jacobian(list(self.parameters[p]))
            closed = sp.zeros(*direct.shape)
            for term in closed_form_terms(bs[p], cs, t):
                closed += term
            residuals.append(direct - closed)
        return Verification.of(
            f"for the {self.name} cell, d h_{t}/dw (SymPy, unrolled) equals eq. (7) with its own c_i, b_i",
            residuals,
            reducer=lambda tup: sp.Tuple(*(m.applyfunc(sp.expand) for m in tup)),
        )


def _magnitude(n: int) -> str:
    return f"{n:,}" if n < 10**7 else ("more than 10^30" if n >= 10**30 else f"10^{len(str(n)) - 1}")


def _builtin(kind: str, n: int, m: int) -> ConcreteCell:
    h = _matrix("h", n, None)
    x = _matrix("x", m, None)
    W = _matrix("W", n, n)
    U = _matrix("U", n, m)
    b = _matrix("b", n, None)
    z = W * h + U * x + b
    step = z.applyfunc(sp.tanh) if kind == "tanh" else z
    params = {"W": W, "U": U, "b": b}
    shapes = {"W": (n, n), "U": (n, m), "b": (n,)}
    return _assemble(kind, h, x, params, shapes, step)


def _assemble(name, h, x, params, shapes, step) -> ConcreteCell:
    # jacobian() differentiates entrywise; tanh' comes out as 1 - tanh(z)**2,
    # already the cheap form, so no simplification is applied.
    return ConcreteCell(
        name=name,
        state=h,
        inputs=x,
        parameters={p: sp.Matrix(list(v)) for p, v in params.items()},
        shapes=shapes,
        step=step,
        jacobian=step.jacobian(list(h)),
        parameter_jacobians={p: step.jacobian(list(v)) for p, v in params.items()},
    )


def concrete(cell: str | ParsedCell = "tanh", *, hidden: int = 1, inputs: int = 1) -> ConcreteCell:
    r"""A concrete cell, differentiated symbolically and ready for NumPy.

    Parameters
    ----------
    cell : {"tanh", "linear"} or str or ParsedCell
        A built-in cell (f = tanh(W h + U x + b) or W h + U x + b, parameters
        ``W`` (n, n), ``U`` (n, m), ``b`` (n,) as in ``stability.cells``), or
        the text of a scalar cell, parsed by
        :func:`~stability.symbolic.parse_cell` (never evaluated), or its
        result. User cells are scalar (n = 1); each other name is a scalar
        parameter of shape ``()``.
    hidden, inputs : int, keyword-only
        n and m for a built-in cell (1 ≤ n, m ≤ 8).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import symbolic
    >>> cell = symbolic.concrete("tanh")
    >>> print(cell.jacobian[0, 0])
    W*(1 - tanh(U*x + W*h + b)**2)
    >>> user = symbolic.concrete("w*h + u*x")
    >>> terms = user.lag_terms({"u": 1.0, "w": 0.5}, np.ones((3, 1)), np.zeros((3, 1)),
    ...                        readout={"V": np.ones((1, 1)), "c": np.zeros(1)})
    >>> terms["w"]   # h_t = 1, 1.5, 1.75 = g_t; b_t = h_{t-1}; c_t = 0.5
    array([1.375     , 0.29166667, 0.        ])
    """
    if isinstance(cell, ParsedCell):
        parsed = cell
    elif isinstance(cell, str):
        if cell in BUILTIN_CELLS:
            n = as_int("hidden", hidden, minimum=1, maximum=8)
            m = as_int("inputs", inputs, minimum=1, maximum=8)
            return _builtin(cell, n, m)
        parsed = parse_cell(cell)
    else:
        raise InputTypeError(f"`cell` must be 'tanh', 'linear', a cell text or a ParsedCell; got {describe(cell)}.")
    if (hidden, inputs) != (1, 1) and (hidden != 1 or inputs != len(parsed.inputs)):
        raise InputValueError(
            f"`hidden` and `inputs` apply to the built-in cells only (a typed cell is scalar); got {hidden}, {inputs}."
        )
    params = {p.name: sp.Matrix([p]) for p in parsed.parameters}
    shapes = {p.name: () for p in parsed.parameters}
    return _assemble(
        parsed.text,
        sp.Matrix([parsed.state]),
        sp.Matrix(list(parsed.inputs)),
        params,
        shapes,
        sp.Matrix([parsed.expression]),
    )
