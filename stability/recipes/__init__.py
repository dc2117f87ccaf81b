"""Recipes: TOML files that describe a study, validated before anything runs.

``stability report --recipe FILE`` runs the study a recipe describes;
``stability report`` alone runs the embedded default (`default_recipe`, the
same text as ``reports/default.toml``). Recipes are read with `tomllib` and
checked field by field: unknown keys are errors, types are checked (``true``
is not an integer, ``1`` is accepted where a float is expected), numbers are
range-checked, lists must be non-empty and without repeats. Every error names
the key and the value received. Nothing in a recipe is evaluated: strings
are data, never code or formulas.

A key left out takes its value from the embedded default recipe (including
the ``[quick]`` table), so a variant states only what differs.

Schema (version 1)
------------------

Top level

==============  ===========  ==================================================
key             type         meaning (range)
==============  ===========  ==================================================
``schema``      int          recipe format version; must be 1
``title``       string       report title (1–200 characters; shown escaped)
``subtitle``    string       line under the title (0–500 characters)
``seed``        int          seed of every random draw (0 ≤ seed < 2**63)
``sections``    [string]     sections to include, any of ``"derivation"``,
                             ``"segmentation"``, ``"spectra"``,
                             ``"strategies"``, ``"training"``, ``"findings"``;
                             always shown in that order
==============  ===========  ==================================================

``[model]`` -- the recurrent cell and the sequence

==============  ===========  ==================================================
``cells``       [string]     cell kinds, each ``"tanh"``, ``"gru"``, ``"lstm"``
                             or ``"linear"`` (1–4 kinds)
``hidden``      int          hidden size n (1–1024)
``inputs``      int          input size (1–1024)
``gains``       [float]      recurrent-weight gains, one regime each, e.g.
                             contracting, near-edge, expanding (0 < g ≤ 100;
                             1–12 gains)
``T``           int          sequence length (2–100000)
``weights``     string       optional: a trained model's file (``.pt``/``.pth``
                             read with ``torch.load(weights_only=True)``,
                             ``.safetensors`` or ``.npz``; keys as in
                             `stability.cells.load_state_dict`).  With it (and
                             ``[data] path``) the study is of *that* model on
                             *that* data: the section "Your model on your data"
                             replaces the others.  Relative paths resolve
                             against the recipe's folder.
``nonlinearity`` string      ``"tanh"`` (default) or ``"relu"``: the activation
                             of ``nn.RNN`` weights (a state_dict omits it)
==============  ===========  ==================================================

``[data]`` -- the user's data for ``[model] weights`` (optional table)

==============  ===========  ==================================================
``path``        string       text file (next-token targets) or ``.npy``/``.npz``
                             arrays (`stability.userdata.load_data`); relative
                             to the recipe's folder
``tokenizer``   string       ``"char"`` (default) or ``"word"`` for text
==============  ===========  ==================================================

``[derivation]`` -- section (a)

==============  ===========  ==================================================
``t``           int          horizon of the expansions shown and proven
                             (1 ≤ t ≤ 8)
``tau``         int          truncation shown in window and chunked form
                             (1 ≤ τ ≤ t)
``bound``       int          the lemma (5) is proven for t = 1..bound with
                             non-commuting symbols (1–24)
==============  ===========  ==================================================

``[spectra]`` -- section (c)

==============  ===========  ==================================================
``exponents``   int          Lyapunov exponents computed (1 ≤ k ≤ state size;
                             capped at the state size of each cell)
``steps``       int          length of the driven trajectory whose Lyapunov
                             spectrum is estimated (100–1000000)
==============  ===========  ==================================================

``[strategies]`` -- section (d)

================  =========  ==================================================
``taus``          [int]      truncation lengths τ (0 ≤ τ ≤ T; 1–64 values)
``pis``           [float]    keep probabilities π of randomized truncation
                             (0 < π ≤ 1; 1–64 values)
``monte_carlo``   int        Monte Carlo draws of the cross-check (1–10**7)
================  =========  ==================================================

``[segmentation]`` -- section (b), the chapter's figure

==============  ===========  ==================================================
``characters``  int          characters of *The Time Machine* cut (10–2000)
``tau``         int          piece length of regular truncation
                             (1 ≤ τ ≤ characters)
``pi``          float        keep probability of the ξ draw (0 < π ≤ 1)
==============  ===========  ==================================================

``[training]`` -- section (e), `stability.experiments`

=====================  ===========  ===========================================
``preset``             string       `TrainingConfig.preset`: ``"default"``,
                                    ``"quick"`` or ``"d2l"``
``cell``               string       the language model's cell: ``"tanh"`` or
                                    ``"gru"``
``seeds``              int          training runs per strategy (1–10); their
                                    seeds are drawn from the study's seed
``taus``               [int]        chunked truncation lengths compared with
                                    full BPTT (values ≥ the preset's window
                                    are dropped; 1–16 values)
``influence_taus``     [int]        truncation lengths of the influence-
                                    balancing task (1 ≤ τ ≤ 64; 1–16 values)
``influence_windows``  int          SGD updates of that task (10–5000)
=====================  ===========  ===========================================

``[quick]`` -- overrides applied by ``--quick``: sub-tables ``[quick.model]``,
``[quick.derivation]``, ``[quick.spectra]``, ``[quick.strategies]``,
``[quick.segmentation]``, ``[quick.training]`` holding any keys of the tables
above. The result is validated like a whole recipe.

Examples
--------
>>> recipe = parse_recipe('title = "GRU study"\\n[model]\\ncells = ["gru"]\\nhidden = 16\\n')
>>> recipe.model.cells, recipe.model.hidden, recipe.model.T == default_recipe().model.T
(('gru',), 16, True)
>>> parse_recipe('[model]\\nhiden = 16\\n')
Traceback (most recent call last):
...
stability.recipes.RecipeError: recipe '<string>': unknown key `model.hiden` (known keys of [model]: cells, hidden, inputs, gains, T, weights, nonlinearity).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from ..errors import InputValueError

__all__ = [
    "RecipeError",
    "Recipe",
    "ModelSpec",
    "DerivationSpec",
    "SpectraSpec",
    "StrategiesSpec",
    "TrainingSpec",
    "SegmentationSpec",
    "SECTIONS",
    "CELLS",
    "SCHEMA_VERSION",
    "parse_recipe",
    "load_recipe",
    "with_user_model",
    "DataSpec",
    "default_recipe",
    "default_recipe_text",
]

SCHEMA_VERSION = 1
#: Section keys in the order the study shows them (SPEC/issue 7 (a)–(f)).
SECTIONS = ("derivation", "segmentation", "spectra", "strategies", "training", "findings")
CELLS = ("tanh", "gru", "lstm", "linear")
PRESETS = ("default", "quick", "d2l")


class RecipeError(InputValueError):
    """A recipe is unreadable or invalid; the message names the key and the value."""


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class _Field:
    key: str
    kind: str  # "int", "float", "str", "ints", "floats", "strs"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    max_items: int = 64
    max_len: int = 200
    min_len: int = 0


_TOP = (
    _Field("schema", "int", low=SCHEMA_VERSION, high=SCHEMA_VERSION),
    _Field("title", "str", min_len=1, max_len=200),
    _Field("subtitle", "str", max_len=500),
    _Field("seed", "int", low=0, high=2**63 - 1),
    _Field("sections", "strs", choices=SECTIONS, max_items=len(SECTIONS)),
)
_TABLES = {
    "model": (
        _Field("cells", "strs", choices=CELLS, max_items=len(CELLS)),
        _Field("hidden", "int", low=1, high=1024),
        _Field("inputs", "int", low=1, high=1024),
        _Field("gains", "floats", low=0.0, low_open=True, high=100.0, max_items=12),
        _Field("T", "int", low=2, high=100_000),
        _Field("weights", "str", max_len=4096),
        _Field("nonlinearity", "str", choices=("tanh", "relu")),
    ),
    "data": (
        _Field("path", "str", max_len=4096),
        _Field("tokenizer", "str", choices=("char", "word")),
    ),
    "derivation": (
        _Field("t", "int", low=1, high=8),
        _Field("tau", "int", low=1, high=8),
        _Field("bound", "int", low=1, high=24),
    ),
    "spectra": (
        _Field("exponents", "int", low=1, high=2048),
        _Field("steps", "int", low=100, high=1_000_000),
    ),
    "strategies": (
        _Field("taus", "ints", low=0, high=100_000),
        _Field("pis", "floats", low=0.0, low_open=True, high=1.0),
        _Field("monte_carlo", "int", low=1, high=10_000_000),
    ),
    "segmentation": (
        _Field("characters", "int", low=10, high=2000),
        _Field("tau", "int", low=1, high=2000),
        _Field("pi", "float", low=0.0, low_open=True, high=1.0),
    ),
    "training": (
        _Field("preset", "str", choices=PRESETS),
        _Field("cell", "str", choices=("tanh", "gru")),
        _Field("seeds", "int", low=1, high=10),
        _Field("taus", "ints", low=1, high=100_000, max_items=16),
        _Field("influence_taus", "ints", low=1, high=64, max_items=16),
        _Field("influence_windows", "int", low=10, high=5000),
    ),
}


@dataclass(frozen=True)
class ModelSpec:
    """``[model]``: cell kinds, sizes, gains (one regime each) and sequence length T."""

    cells: tuple[str, ...]
    hidden: int
    inputs: int
    gains: tuple[float, ...]
    T: int
    weights: str = ""
    nonlinearity: str = "tanh"


@dataclass(frozen=True)
class DataSpec:
    """``[data]``: the user's data file for ``[model] weights`` and its tokenizer."""

    path: str = ""
    tokenizer: str = "char"


@dataclass(frozen=True)
class DerivationSpec:
    """``[derivation]``: the horizon t, the truncation τ shown, and the bound of the lemma's check."""

    t: int
    tau: int
    bound: int


@dataclass(frozen=True)
class SpectraSpec:
    """``[spectra]``: Lyapunov exponents computed by section (c) and the length of their trajectory."""

    exponents: int
    steps: int


@dataclass(frozen=True)
class StrategiesSpec:
    """``[strategies]``: the τ and π grids of section (d) and its Monte Carlo draws."""

    taus: tuple[int, ...]
    pis: tuple[float, ...]
    monte_carlo: int


@dataclass(frozen=True)
class SegmentationSpec:
    """``[segmentation]``: the chapter's figure -- characters cut, τ, and π of the ξ draw."""

    characters: int
    tau: int
    pi: float


@dataclass(frozen=True)
class TrainingSpec:
    """``[training]``: the `stability.experiments` preset, seeds per strategy, influence-balancing settings."""

    preset: str
    cell: str
    seeds: int
    taus: tuple[int, ...]
    influence_taus: tuple[int, ...]
    influence_windows: int


_SPECS = {
    "model": ModelSpec,
    "derivation": DerivationSpec,
    "spectra": SpectraSpec,
    "strategies": StrategiesSpec,
    "segmentation": SegmentationSpec,
    "training": TrainingSpec,
    "data": DataSpec,
}
#: tables a recipe (and the embedded default) may leave out entirely
_OPTIONAL_TABLES = ("data",)


@dataclass(frozen=True)
class Recipe:
    """A validated study description (see the module docstring for the schema).

    Build one with `parse_recipe`, `load_recipe` or `default_recipe`; derive
    variants with `dataclasses.replace`, and the ``--quick`` version with
    `resolved`.
    """

    title: str
    subtitle: str
    seed: int
    sections: tuple[str, ...]
    model: ModelSpec
    derivation: DerivationSpec
    spectra: SpectraSpec
    strategies: StrategiesSpec
    segmentation: SegmentationSpec
    training: TrainingSpec
    data: DataSpec = dataclasses.field(default_factory=DataSpec)
    quick: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    schema: int = SCHEMA_VERSION
    source: str = dataclasses.field(default="<embedded default>", compare=False)

    def resolved(self, *, quick: bool) -> "Recipe":
        """This recipe with the ``[quick]`` overrides applied when *quick* is true."""
        if not quick or not self.quick:
            return dataclasses.replace(self, quick=MappingProxyType({}))
        changes = {
            table: dataclasses.replace(getattr(self, table), **dict(values)) for table, values in self.quick.items()
        }
        return dataclasses.replace(self, quick=MappingProxyType({}), **changes)

    def parameters(self) -> list[tuple[str, Any]]:
        """Every parameter as ``(dotted key, value)`` pairs, for the report's appendix."""
        rows: list[tuple[str, Any]] = [("schema", self.schema), ("seed", self.seed), ("sections", self.sections)]
        for table in _TABLES:
            spec = getattr(self, table)
            rows.extend((f"{table}.{f.name}", getattr(spec, f.name)) for f in dataclasses.fields(spec))
        return rows

    def to_toml(self) -> str:
        """The recipe (without ``[quick]``) as TOML text that `parse_recipe` reads back."""

        def value(v: Any) -> str:
            if isinstance(v, str):
                return _toml_string(v)
            if isinstance(v, tuple):
                return "[" + ", ".join(value(x) for x in v) + "]"
            return repr(v)

        lines = [f"schema = {self.schema}", f"title = {value(self.title)}", f"subtitle = {value(self.subtitle)}",
                 f"seed = {self.seed}", f"sections = {value(self.sections)}"]
        for table in _TABLES:
            spec = getattr(self, table)
            lines.append(f"\n[{table}]")
            lines.extend(f"{f.name} = {value(getattr(spec, f.name))}" for f in dataclasses.fields(spec))
        return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# --------------------------------------------------------------------------- validation


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> RecipeError:
        return RecipeError(f"recipe {self.source!r}: {message}")

    def scalar(self, name: str, f: _Field, value: Any, kind: str) -> Any:
        if kind == "str":
            if not isinstance(value, str):
                raise self.fail(f"`{name}` must be a string; got {_kind_name(value)} {_describe(value)}.")
            if not f.min_len <= len(value) <= f.max_len:
                raise self.fail(f"`{name}` must have {f.min_len} to {f.max_len} characters; got {len(value)}.")
            bad = [c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0]
            if bad:
                raise self.fail(f"`{name}` must not contain control characters; got {value!r:.60}.")
            if f.choices is not None and value not in f.choices:
                raise self.fail(f"`{name}` must be one of {', '.join(map(repr, f.choices))}; got {value!r}.")
            return value
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(f"`{name}` must be an integer; got {_kind_name(value)} {_describe(value)}.")
            number: float = value
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(f"`{name}` must be a number; got {_kind_name(value)} {_describe(value)}.")
            if not math.isfinite(value):
                raise self.fail(f"`{name}` must be finite; got {value!r}.")
            number = value = float(value)
        if f.low is not None and (number <= f.low if f.low_open else number < f.low):
            raise self.fail(f"`{name}` must be {self._range(f)}; got {value!r}.")
        if f.high is not None and number > f.high:
            raise self.fail(f"`{name}` must be {self._range(f)}; got {value!r}.")
        return value

    @staticmethod
    def _range(f: _Field) -> str:
        if f.low == f.high:
            return f"exactly {f.low!r}"
        lo = f"> {f.low!r}" if f.low_open else f">= {f.low!r}"
        return f"{lo} and <= {f.high!r}" if f.high is not None else lo

    def field(self, name: str, f: _Field, value: Any) -> Any:
        if f.kind in ("int", "float", "str"):
            return self.scalar(name, f, value, f.kind)
        if not isinstance(value, list):
            raise self.fail(f"`{name}` must be an array; got {_kind_name(value)} {_describe(value)}.")
        if not 1 <= len(value) <= f.max_items:
            raise self.fail(f"`{name}` must hold 1 to {f.max_items} values; got {len(value)}.")
        item_kind = f.kind[:-1]
        items = tuple(self.scalar(f"{name}[{i}]", f, v, item_kind) for i, v in enumerate(value))
        seen: set[Any] = set()
        for item in items:
            if item in seen:
                raise self.fail(f"`{name}` must not repeat a value; got {item!r} twice.")
            seen.add(item)
        return items

    def table(self, prefix: str, fields: tuple[_Field, ...], raw: Any, *, label: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(f"`{prefix}` must be a table; got {_kind_name(raw)} {_describe(raw)}.")
        known = {f.key: f for f in fields}
        for key in raw:
            if key not in known:
                where = f"{prefix}.{key}" if prefix else key
                raise self.fail(f"unknown key `{where}` (known keys of {label}: {', '.join(known)}).")
        return {key: self.field(f"{prefix}.{key}" if prefix else key, known[key], value) for key, value in raw.items()}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validate(raw: dict[str, Any], check: _Checker, *, prefix: str = "") -> dict[str, Any]:
    """Validate a complete (default-merged) recipe dict; returns typed values per table."""
    top_fields = {f.key: f for f in _TOP}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "quick":
            continue
        if key in _TABLES:
            out[key] = check.table(prefix + key, _TABLES[key], value, label=f"[{key}]")
        elif key in top_fields:
            out[key] = check.field(prefix + key, top_fields[key], value)
        else:
            known = ", ".join([*top_fields, *_TABLES, "quick"])
            raise check.fail(f"unknown key `{prefix}{key}` (known top-level keys: {known}).")
    missing = [k for k in (*top_fields, *_TABLES) if k not in out and k not in _OPTIONAL_TABLES]
    if missing:  # only possible if the embedded default itself is incomplete
        raise check.fail(f"missing keys {missing}.")
    _cross_check(out, check, prefix=prefix)
    return out


def _cross_check(v: dict[str, Any], check: _Checker, *, prefix: str) -> None:
    model, strategies, segmentation = v["model"], v["strategies"], v["segmentation"]
    T = model["T"]
    if bool(model.get("weights")) != bool(v.get("data", {}).get("path")):
        raise check.fail(f"`{prefix}model.weights` and `{prefix}data.path` go together: give both or neither.")
    derivation = v["derivation"]
    if derivation["tau"] > derivation["t"]:
        raise check.fail(f"`{prefix}derivation.tau` must not exceed `derivation.t` = {derivation['t']}; got {derivation['tau']}.")
    for tau in strategies["taus"]:
        if tau > T:
            raise check.fail(f"`{prefix}strategies.taus` must not exceed `model.T` = {T}; got {tau}.")
    state = model["hidden"] * max(2 if c == "lstm" else 1 for c in model["cells"])
    if v["spectra"]["exponents"] > state:
        raise check.fail(
            f"`{prefix}spectra.exponents` must not exceed the largest state size {state} of `model.cells`; "
            f"got {v['spectra']['exponents']}."
        )
    if segmentation["tau"] > segmentation["characters"]:
        raise check.fail(
            f"`{prefix}segmentation.tau` must not exceed `segmentation.characters` = "
            f"{segmentation['characters']}; got {segmentation['tau']}."
        )
    _check_memory(v, check, prefix=prefix)


def _check_memory(v: dict[str, Any], check: _Checker, *, prefix: str) -> None:
    """Estimate the study's largest problem from the sizes (`stability._budget`) before anything runs."""
    from .._budget import GATES, WORD, check_memory, cell_layout, problem_bytes

    model, steps = v["model"], v["spectra"]["steps"]
    for cell in model["cells"]:
        params, state = cell_layout(cell, model["hidden"], model["inputs"])
        est = problem_bytes(params=params, state=state, hidden=model["hidden"], inputs=model["inputs"], T=model["T"],
                            batch=1, outputs=2, gates=GATES[cell])
        # exact variance of randomized truncation: (M1)-(M3) arrays plus the tangent block (capped at 2**25 words)
        est += 2 * WORD * (5 * state * state + min(model["T"] * state * params, 2**25))
        spectra = WORD * (steps * model["inputs"] + 24 * 256 * state + 2 * state * state)
        check_memory(
            f"recipe {check.source!r}: `{prefix}model` (cell {cell!r}, hidden {model['hidden']}, "
            f"inputs {model['inputs']}, T {model['T']}; spectra.steps {steps})",
            max(est, spectra),
        )


def _build(values: dict[str, Any], quick: dict[str, dict[str, Any]], source: str) -> Recipe:
    specs = {table: _SPECS[table](**values.get(table, {})) for table in _TABLES}
    return Recipe(
        title=values["title"],
        subtitle=values["subtitle"],
        seed=values["seed"],
        sections=tuple(s for s in SECTIONS if s in values["sections"]),
        quick=MappingProxyType({t: MappingProxyType(dict(kv)) for t, kv in quick.items()}),
        schema=values["schema"],
        source=source,
        **specs,
    )


def _from_raw(raw: dict[str, Any], source: str, *, base: dict[str, Any] | None) -> Recipe:
    check = _Checker(source)
    merged = _merge(base, raw) if base is not None else raw
    values = _validate(merged, check)
    quick_raw = merged.get("quick", {})
    if not isinstance(quick_raw, dict):
        raise check.fail(f"`quick` must be a table; got {_kind_name(quick_raw)} {_describe(quick_raw)}.")
    quick: dict[str, dict[str, Any]] = {}
    for table, sub in quick_raw.items():
        if table not in _TABLES:
            raise check.fail(f"unknown key `quick.{table}` (known keys of [quick]: {', '.join(_TABLES)}).")
        quick[table] = check.table(f"quick.{table}", _TABLES[table], sub, label=f"[quick.{table}]")
    if quick:  # the quick variant must be a valid recipe too
        _validate(_merge({k: v for k, v in merged.items() if k != "quick"}, quick_raw), check, prefix="quick.")
    return _build(values, quick, source)


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise RecipeError(f"recipe {source!r}: the recipe text must be a string; got {type(text).__name__}.")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {source!r} is not valid TOML: {exc}.") from None
    except RecursionError:  # tomllib recurses per nesting level of arrays and inline tables
        raise RecipeError(f"recipe {source!r} nests arrays or tables too deeply; a recipe is flat.") from None


def default_recipe_text() -> str:
    """The embedded default recipe, as TOML text (identical to ``reports/default.toml``)."""
    return (resources.files("stability.recipes") / "default.toml").read_text(encoding="utf-8")


def _default_raw() -> dict[str, Any]:
    return _parse_toml(default_recipe_text(), "<embedded default>")


def default_recipe() -> Recipe:
    """The default study (`stability report` with no recipe)."""
    return _from_raw(_default_raw(), "<embedded default>", base=None)


def parse_recipe(text: str, *, source: str = "<string>") -> Recipe:
    """Validate recipe TOML *text*; keys left out take the embedded default's values.

    Raises
    ------
    RecipeError
        On invalid TOML, an unknown key, a wrong type or an out-of-range value.
    """
    return _from_raw(_parse_toml(text, source), source, base=_default_raw())


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and validate the recipe file at *path* (UTF-8 TOML)."""
    source = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(1_000_001)
    except OSError as exc:
        raise RecipeError(f"recipe {source!r} cannot be read: {exc.strerror or exc}.") from None
    if len(data) > 1_000_000:
        raise RecipeError(f"recipe {source!r} is larger than 1 MB; a recipe is a short text file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(f"recipe {source!r} is not UTF-8 text: {exc.reason} at byte {exc.start}.") from None
    recipe = parse_recipe(text, source=source)
    return _resolve_paths(recipe, os.path.dirname(os.path.abspath(source)))


def _resolve_paths(recipe: Recipe, folder: str) -> Recipe:
    """``[model] weights`` and ``[data] path`` made absolute, relative ones against *folder*."""
    if not recipe.model.weights:
        return recipe
    absolute = lambda p: p if os.path.isabs(p) else os.path.normpath(os.path.join(folder, p))  # noqa: E731
    return dataclasses.replace(
        recipe,
        model=dataclasses.replace(recipe.model, weights=absolute(recipe.model.weights)),
        data=dataclasses.replace(recipe.data, path=absolute(recipe.data.path)),
    )


def with_user_model(recipe: Recipe, weights: str, data: str, *, tokenizer: str = "char",
                    nonlinearity: str = "tanh") -> Recipe:
    """*recipe* studying the model in file *weights* on the data in file *data* (paths as given, made absolute)."""
    if not weights or not data:
        raise RecipeError("`weights` and `data` must both name files.")
    return _resolve_paths(
        dataclasses.replace(recipe, model=dataclasses.replace(recipe.model, weights=weights, nonlinearity=nonlinearity),
                            data=DataSpec(path=data, tokenizer=tokenizer),
                            subtitle=f"{os.path.basename(weights)} on {os.path.basename(data)}"[:500]),
        os.getcwd(),
    )
