"""Random recipes (Hypothesis): every TOML text is a validated Recipe or a typed error, in well under a second."""

from __future__ import annotations

import json
import math
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stability import recipes
from stability.errors import InputValueError

_CHARS = st.characters(blacklist_categories=("Cs",))  # TOML strings hold Unicode scalar values only
_SKIP = {"weights", "path"}  # file-system keys: exercised by the file tests, not by random text


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else ("-inf" if v == -math.inf else repr(v)))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _in_range(field):
    """Values inside the documented range of *field* (lists non-empty, without repeats)."""
    lo = 0 if field.low is None else int(math.ceil(field.low))
    hi = 10**6 if field.high is None else int(field.high)
    lo = lo + 1 if field.low_open and field.low == lo else lo
    ints = st.integers(min_value=lo, max_value=min(hi, lo + 50))
    floats = st.floats(min_value=max(field.low or 0.0, 1e-3), max_value=field.high or 1.0)
    return {
        "int": ints,
        "float": floats,
        "str": st.sampled_from(field.choices) if field.choices else st.text(alphabet=_CHARS, min_size=field.min_len or 1, max_size=30),
        "ints": st.lists(ints, min_size=1, max_size=4, unique=True),
        "floats": st.lists(floats, min_size=1, max_size=4, unique=True),
        "strs": st.lists(st.sampled_from(field.choices or ("x",)), min_size=1, max_size=3, unique=True),
    }[field.kind]


def _values(field, valid: bool = False):
    if valid:
        return _in_range(field)
    hostile = st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(alphabet=_CHARS, max_size=20),
        st.lists(st.integers(min_value=-5, max_value=10**6), max_size=4),
        st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
    )
    lo = 0 if field.low is None else int(field.low)
    hi = 10**6 if field.high is None else int(min(field.high, 10**6))
    plausible = {
        "int": st.integers(min_value=lo - 2, max_value=hi + 2),
        "float": st.floats(min_value=-1.0, max_value=200.0),
        "str": st.sampled_from(field.choices) if field.choices else st.text(alphabet=_CHARS, max_size=30),
        "ints": st.lists(st.integers(min_value=lo - 1, max_value=min(hi, 200) + 1), max_size=5),
        "floats": st.lists(st.floats(min_value=-0.5, max_value=1.5, allow_nan=False), max_size=5),
        "strs": st.lists(st.sampled_from(field.choices or ("x",)), max_size=5),
    }[field.kind]
    return st.one_of(plausible, plausible, hostile)


@st.composite
def recipe_texts(draw):
    valid = draw(st.booleans())  # half the recipes stay inside every documented range
    lines = []
    for field in recipes._TOP:
        if field.key != "schema" and draw(st.booleans()):
            lines.append(f"{field.key} = {_toml_value(draw(_values(field, valid)))}")
    if not valid and draw(st.integers(0, 9)) == 0:
        lines.append(f"unknown_key = {draw(st.integers())}")
    for table, fields in recipes._TABLES.items():
        chosen = [f for f in fields if f.key not in _SKIP and draw(st.booleans())]
        if chosen:
            lines.append(f"[{table}]")
            lines.extend(f"{f.key} = {_toml_value(draw(_values(f, valid)))}" for f in chosen)
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe_texts())
def test_random_recipes_validate_or_fail_typed_and_fast(text):
    t0 = time.monotonic()
    try:
        recipe = recipes.parse_recipe(text, source="<random>")
    except InputValueError as exc:  # RecipeError and ResourceError both are
        message = str(exc)
        assert message and "\n" not in message.strip()
    else:  # what validation promises about an accepted recipe
        m = recipe.model
        assert 1 <= m.hidden <= 1024 and 2 <= m.T <= 100_000 and all(0 < g <= 100 for g in m.gains)
        assert recipe.derivation.tau <= recipe.derivation.t
        assert all(tau <= m.T for tau in recipe.strategies.taus)
        assert all(0 < p <= 1 for p in recipe.strategies.pis)
    assert time.monotonic() - t0 < 2.0
