"""The report model: validation, raw numbers kept, formatting in one place, exports."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability.errors import InputTypeError, InputValueError
from stability.report import (
    Bullets,
    Column,
    Document,
    Equation,
    Figure,
    Finding,
    Paragraph,
    Section,
    Table,
    Verdict,
    format_number,
    slugify,
)

# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "sig", "expected"),
    [
        (0.5, 3, "0.5"),
        (2 / 3, 3, "0.667"),
        (2 / 3, 5, "0.66667"),
        (1234.5678, 3, "1230"),
        (9999.7, 3, "10⁴"),  # rounds up across the fixed-notation limit
        (0.00099996, 3, "0.001"),  # rounds up into fixed notation
        (1.2345e-5, 3, "1.23×10⁻⁵"),
        (-2.5e-7, 3, "−2.5×10⁻⁷"),
        (123456.0, 4, "1.235×10⁵"),
        (1e10, 3, "10¹⁰"),
        (0.0, 3, "0"),
        (-0.0, 3, "0"),
        (42, 3, "42"),
        (np.int64(-7), 3, "−7"),
        (np.float32(0.25), 3, "0.25"),
        (float("nan"), 3, "n/a"),
        (float("inf"), 3, "∞"),
        (float("-inf"), 3, "−∞"),
        (None, 3, "—"),
    ],
)
def test_format_number_examples(value, sig, expected):
    """format_number follows the documented rules (hand-computed expectations)."""
    assert format_number(value, sig=sig) == expected


def _parse_display(text: str) -> float:
    text = text.replace("−", "-")
    if "10" in text and ("×" in text or text.lstrip("-").startswith("10") and any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")):
        sup = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
        mant, _, exp = text.rpartition("10")
        mant = mant.rstrip("×")
        sign = -1.0 if mant.startswith("-") else 1.0
        mant = mant.lstrip("-") or "1"
        return sign * float(mant) * 10.0 ** int(exp.translate(sup))
    return float(text)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300), sig=st.integers(1, 8))
def test_format_number_round_trips_to_sig_digits(x, sig):
    """The displayed text reads back to x within half a unit in the last kept significant digit."""
    text = format_number(x, sig=sig)
    back = _parse_display(text)
    if x == 0:
        assert back == 0
    else:
        assert abs(back - x) <= 0.5 * 10 ** (1 - sig) * abs(x) * (1 + 1e-9) + 1e-300


def test_format_number_rejects_bad_input():
    """Non-numbers and bad digit counts raise typed errors naming the argument."""
    with pytest.raises(InputTypeError, match="`value`"):
        format_number("1.0")
    with pytest.raises(InputValueError, match="`sig`"):
        format_number(1.0, sig=0)


# --------------------------------------------------------------------------- tables


def _table():
    return Table(
        columns=(Column("tau", "τ", kind="int"), Column("bias", "bias", sig=4), Column("cell", "cell", kind="text")),
        rows=((1, np.float64(0.123456789), "tanh"), (np.int32(4), float("nan"), None)),
        caption="c",
    )


def test_table_keeps_raw_numbers():
    """Cells keep full precision as plain Python numbers; formatting happens on display only."""
    table = _table()
    assert table.column("bias")[0] == 0.123456789 and type(table.column("bias")[0]) is float
    assert type(table.column("tau")[1]) is int
    assert table.formatted_rows() == (("1", "0.1235", "tanh"), ("4", "n/a", "—"))


def test_table_csv_round_trips_floats():
    """CSV carries repr precision: every float reads back exactly."""
    rows = list(csv.reader(io.StringIO(_table().to_csv())))
    assert rows[0] == ["tau", "bias", "cell"]
    assert float(rows[1][1]) == 0.123456789
    assert rows[2] == ["4", "nan", ""]


def test_table_json_is_strict():
    """JSON export is strict (NaN becomes null) and keeps raw values and column metadata."""
    data = json.loads(_table().to_json())
    assert data["rows"][0] == {"tau": 1, "bias": 0.123456789, "cell": "tanh"}
    assert data["rows"][1]["bias"] is None
    assert data["columns"][1] == {"key": "bias", "label": "bias", "unit": "", "kind": "float"}


def test_table_text_aligns_columns():
    """Terminal text is aligned: every line of the body has the header's width or less."""
    lines = _table().to_text().splitlines()
    assert lines[0].startswith("τ") and set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["1", "0.1235", "tanh"]


def test_table_from_columns_matches_rows():
    """from_columns builds the same table as row-wise construction."""
    cols = (Column("a", "a", kind="int"), Column("b", "b"))
    assert Table.from_columns(cols, {"a": np.arange(2), "b": np.array([0.5, 1.5])}) == Table(cols, ((0, 0.5), (1, 1.5)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"columns": (), "rows": ()}, InputTypeError, "`columns`"),
        ({"columns": (Column("a", "a"),), "rows": ((1, 2),)}, InputValueError, r"`rows\[0\]`"),
        ({"columns": (Column("a", "a", kind="int"),), "rows": ((1.5,),)}, InputValueError, "integer"),
        ({"columns": (Column("a", "a", kind="text"),), "rows": ((1,),)}, InputTypeError, "string"),
        ({"columns": (Column("a", "a"),), "rows": (("1",),)}, InputTypeError, "number"),
        ({"columns": (Column("a", "a"),), "rows": ((True,),)}, InputTypeError, "number"),
        ({"columns": (Column("a", "a"), Column("a", "b")), "rows": ()}, InputValueError, "unique"),
    ],
)
def test_table_validation(kwargs, error, match):
    """Malformed tables are refused with a message naming what is wrong."""
    with pytest.raises(error, match=match):
        Table(**kwargs)


def test_column_validation():
    """Column keys, kinds and digit counts are checked."""
    with pytest.raises(InputValueError, match="`key`"):
        Column("bad key", "x")
    with pytest.raises(InputValueError, match="`kind`"):
        Column("k", "x", kind="percent")
    with pytest.raises(InputValueError, match="`sig`"):
        Column("k", "x", sig=0)


# --------------------------------------------------------------------------- other blocks


def test_blocks_are_frozen():
    """Blocks are immutable value objects."""
    import dataclasses

    p = Paragraph("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.text = "y"
    assert dataclasses.replace(p, text="y") == Paragraph("y")


def test_finding_verdict_and_value():
    """A Finding parses its verdict and shows its deciding number through the one formatter."""
    f = Finding("claim", "not supported", "the slope is", value=np.float64(-0.000123), unit="1/step")
    assert f.verdict is Verdict.NOT_SUPPORTED and f.verdict.label == "Not supported"
    assert f.display_value == "−1.23×10⁻⁴ 1/step"
    assert f.to_dict()["value"] == -0.000123
    with pytest.raises(InputValueError, match="`verdict`"):
        Finding("c", "maybe", "e")


def test_figure_needs_exactly_one_source():
    """A Figure takes either a maker or an SVG string, not both or neither."""
    with pytest.raises(InputValueError, match="exactly one"):
        Figure(caption="c", alt="a")
    with pytest.raises(InputValueError, match="exactly one"):
        Figure(caption="c", alt="a", make=lambda: None, svg="<svg/>")
    with pytest.raises(InputTypeError, match="`make`"):
        Figure(caption="c", alt="a", make=3)


def test_equation_from_sympy():
    """Equation.from_sympy takes its LaTeX from sympy.latex."""
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    assert Equation.from_sympy(x**2, label="(1)").latex == "x^{2}"


def test_bad_latex_is_reported_at_render():
    """LaTeX that ziamath cannot lay out raises InputValueError naming `latex`."""
    from stability.report.formula import formula_svg

    with pytest.raises(InputValueError, match="`latex`"):
        formula_svg(r"\frac{x")


def test_empty_text_is_refused():
    """Paragraphs and bullets must say something."""
    with pytest.raises(InputValueError, match="`text`"):
        Paragraph("  ")
    with pytest.raises(InputValueError, match="`items`"):
        Bullets(())
    with pytest.raises(InputTypeError, match="`text`"):
        Paragraph(3)


# --------------------------------------------------------------------------- sections and documents


def test_section_ids_default_to_slugs_and_must_be_unique():
    """Section ids come from titles; duplicates are refused with advice to pass id=."""
    assert slugify("(c) Spectra: λ₁ & gains") == "c-spectra-1-gains"
    assert slugify("123") == "s-123"
    with pytest.raises(InputValueError, match="unique"):
        Document(title="T", sections=(Section("Results"), Section("Results")))
    with pytest.raises(InputValueError, match="unique"):
        Document(title="T", sections=(Section("Contents"),))  # the template's own id
    Document(title="T", sections=(Section("Results"), Section("Results", id="results-2")))


def test_document_walk_and_blocks():
    """walk visits sections depth first, appendix last; blocks filters by type."""
    t = Table((Column("a", "a"),), ((1.0,),))
    doc = Document(
        title="T",
        sections=(Section("A", (Paragraph("p"),), subsections=(Section("B", (t,)),)),),
        appendix=(Section("C"),),
    )
    assert [(d, s.title) for d, s in doc.walk()] == [(1, "A"), (2, "B"), (1, "C")]
    assert list(doc.blocks(Table)) == [t]
    data = json.loads(doc.to_json())
    assert data["sections"][0]["subsections"][0]["tables"][0]["rows"] == [{"a": 1.0}]


def test_section_rejects_foreign_blocks():
    """Only report blocks go into sections."""
    with pytest.raises(InputTypeError, match=r"`blocks\[0\]`"):
        Section("S", blocks=("text",))
    with pytest.raises(InputTypeError, match=r"`sections\[0\]`"):
        Document(title="T", sections=("S",))


def test_meta_pairs_checked():
    """Document meta is (key, value) string pairs; a mapping is accepted."""
    assert Document(title="T", meta={"Seed": "1"}).meta == (("Seed", "1"),)
    with pytest.raises(InputTypeError, match=r"`meta\[0\]`"):
        Document(title="T", meta=(("Seed", 1),))


def test_finding_nan_value_exports_as_null():
    """A non-finite deciding number is written as JSON null."""
    assert Finding("c", "inconclusive", "e", value=math.nan).to_dict()["value"] is None
