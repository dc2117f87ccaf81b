"""Hostile weight files: every .npz member's header is checked before inflating (issue 12)."""

from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pytest

from stability._files import load_npz
from stability.errors import InputTypeError, InputValueError, ResourceError

from ._hostile import assert_usage_error, run_cli


def _npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


@pytest.fixture
def bomb(tmp_path):
    """A small archive whose one member declares and holds (4000, 4000) float64 zeros: 128 MB inflated."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z, z.open("W.npy", "w") as fh:
        fh.write(_npy_header((4000, 4000)))
        for _ in range(8):
            fh.write(bytes(16_000_000))
    assert path.stat().st_size < 1_000_000
    return path


def _cell_arrays(**override):
    arrays = {"W": 0.5 * np.eye(4), "U": np.ones((4, 3)), "b": np.zeros(4)}
    arrays.update(override)
    return arrays


def _write(tmp_path, name, **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_well_formed_archive_round_trips(tmp_path):
    arrays = _cell_arrays(U=np.ones((4, 3), dtype=np.float32), b=np.zeros(4, dtype=">f8"))
    got = load_npz(_write(tmp_path, "ok.npz", **arrays))
    assert list(got) == ["W", "U", "b"]
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype.isnative


def test_bomb_is_refused_from_its_header_before_inflating(bomb):
    import tracemalloc

    tracemalloc.start()
    t0 = time.monotonic()
    with pytest.raises(ResourceError, match=r"declared 128000000 bytes.*budget is 64\.0 MiB"):
        load_npz(bomb, max_memory="64M")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - t0 < 2.0 and peak < 5_000_000  # nothing near 128 MB was allocated
    assert load_npz(bomb, max_memory="1G")["W"].shape == (4000, 4000)  # within the budget it loads


@pytest.mark.parametrize(
    "arrays, error, needle",
    [
        (_cell_arrays(W=np.eye(4, dtype=np.float16)), InputTypeError, "dtype float16"),
        (_cell_arrays(W=np.eye(4, dtype=np.longdouble)), InputTypeError, "supported: float32, float64"),
        (_cell_arrays(W=np.eye(4, dtype=np.complex128)), InputTypeError, "dtype complex128"),
        (_cell_arrays(W=np.eye(4, dtype=np.int64)), InputTypeError, "dtype int64"),
        (_cell_arrays(W=np.array([None, 1], dtype=object)), InputTypeError, "pickle"),
        (_cell_arrays(W=np.zeros((0, 4))), InputValueError, r"'W' is empty \(shape \(0, 4\)\)"),
    ],
    ids=["float16", "longdouble", "complex", "int", "object", "empty"],
)
def test_unsupported_members_refused_by_name(tmp_path, arrays, error, needle):
    with pytest.raises(error, match=needle):
        load_npz(_write(tmp_path, "w.npz", **arrays))


def test_damaged_archives_get_the_right_message(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("W = [[1, 0], [0, 1]]\n")
    with pytest.raises(InputValueError, match="not an .npz archive") as info:
        load_npz(text)
    assert "pickle" not in str(info.value)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(InputValueError, match="empty file"):
        load_npz(empty)
    other = tmp_path / "other.npz"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("W.txt", "1 0 0 1")
    with pytest.raises(InputValueError, match="'W.txt' is not a .npy array"):
        load_npz(other)
    trunc = tmp_path / "trunc.npz"
    with zipfile.ZipFile(trunc, "w") as z:
        z.writestr("W.npy", _npy_header((100, 100)) + bytes(80))
    with pytest.raises(InputValueError, match="'W.npy' is truncated") as info:
        load_npz(trunc)
    assert "pickle" not in str(info.value)
    nomagic = tmp_path / "nomagic.npz"
    with zipfile.ZipFile(nomagic, "w") as z:
        z.writestr("W.npy", b"\x00" * 200)
    with pytest.raises(InputValueError, match="not a .npy array"):
        load_npz(nomagic)


def test_cli_bomb_exit_2_with_bounded_memory(bomb):
    t0 = time.monotonic()
    result = run_cli("spectrum", "--weights", str(bomb), "--T", "200", "--max-memory", "64M")
    assert_usage_error(result, "declared 128000000 bytes")
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize("kind", ["float16", "text", "nonnpy", "zero"])
def test_cli_bad_weights_exit_2(tmp_path, kind):
    path = tmp_path / "w.npz"
    if kind == "float16":
        np.savez(path, **_cell_arrays(W=np.eye(4, dtype=np.float16)))
    elif kind == "text":
        path.write_text("hello\n")
    elif kind == "nonnpy":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("W.txt", "1")
    else:
        np.savez(path, **_cell_arrays(b=np.zeros(0)))
    result = run_cli("spectrum", "--weights", str(path), "--T", "200")
    assert_usage_error(result, "--weights")
    assert "pickle" not in result.stderr and "AttributeError" not in result.stderr
