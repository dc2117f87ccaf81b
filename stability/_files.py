"""Reading user files with bounded work: ``.npz`` archives checked member by member before inflating.

`load_npz` never unpickles and never inflates a member before its ``.npy``
header has been read and checked: the member must be a ``.npy`` file, its
dtype one of `ALLOWED_DTYPES` (little- or big-endian float32/float64 --
float16, longdouble, complex, integer, object and structured dtypes are
refused by name), its shape non-empty, and its size within the memory budget
(`stability._budget`) and consistent with the member's stored size (a
truncated member is reported as such).  Every refusal is an `InputValueError`
(or `InputTypeError` for a dtype, `ResourceError` for a size) that names the
file and the member.

Examples
--------
>>> import io, numpy as np
>>> buf = io.BytesIO(); np.savez(buf, W=np.eye(2)); _ = buf.seek(0)
>>> sorted(load_npz(buf, name="weights"))
['W']
>>> buf = io.BytesIO(); np.savez(buf, W=np.eye(2, dtype=np.float16)); _ = buf.seek(0)
>>> load_npz(buf, name="weights")
Traceback (most recent call last):
...
stability.errors.InputTypeError: `weights` array 'W' has dtype float16; supported: float32, float64.
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import IO

import numpy as np

from ._budget import check_memory
from .errors import InputTypeError, InputValueError

__all__ = ["load_npz", "ALLOWED_DTYPES", "MAX_MEMBERS"]

#: dtypes a weights archive may hold (either byte order).
ALLOWED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: Largest number of members of an archive (a cell has a handful of arrays).
MAX_MEMBERS = 256


def _label(name: str, source: object) -> str:
    return f"`{name}` {os.fspath(source)!r}" if isinstance(source, (str, os.PathLike)) else f"`{name}`"


def _header(fh: IO[bytes], what: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
    except ValueError:
        raise InputValueError(f"{what} is not a .npy array (no NumPy magic string).") from None
    try:
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=10_000)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=10_000)
        else:
            raise InputValueError(f"{what} uses the unsupported .npy format version {version[0]}.{version[1]}.")
    except InputValueError:
        raise
    except (ValueError, SyntaxError, EOFError, OSError) as exc:
        raise InputValueError(f"{what} has a damaged or truncated .npy header ({exc}).") from None
    return tuple(shape), bool(fortran), np.dtype(dtype)


def load_npz(source: str | os.PathLike | IO[bytes], *, name: str = "weights",
             max_memory: object = None) -> dict[str, np.ndarray]:
    """The float arrays of an ``.npz`` archive, each header checked before its data is read.

    Parameters
    ----------
    source : path or binary file object
    name : str
        How the argument is called in messages (e.g. ``"--weights"``).
    max_memory : int or str, optional
        Memory budget for the sum of the arrays (default: `stability._budget`).

    Returns
    -------
    dict of str to ndarray
        Member names without ``.npy``, in archive order.
    """
    what = _label(name, source)
    if isinstance(source, (str, os.PathLike)):
        try:
            size = os.stat(source).st_size
        except OSError:
            raise
        if size == 0:
            raise InputValueError(f"{what} is an empty file (0 bytes), not an .npz archive.")
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise InputValueError(
            f"{what} is not an .npz archive (a zip of .npy files written by numpy.savez); "
            "it may be a text file, an .npy file or damaged."
        ) from None
    with archive:
        infos = archive.infolist()
        if not infos:
            raise InputValueError(f"{what} holds no arrays.")
        if len(infos) > MAX_MEMBERS:
            raise InputValueError(f"{what} holds {len(infos)} members; at most {MAX_MEMBERS} are read.")
        plan = []
        total = 0
        for info in infos:
            member = info.filename
            mwhat = f"{what} member {member!r}"
            if info.is_dir() or not member.endswith(".npy"):
                raise InputValueError(f"{mwhat} is not a .npy array; an .npz archive holds only .npy members.")
            key = member[: -len(".npy")]
            try:
                with archive.open(info) as fh:
                    shape, fortran, dtype = _header(fh, mwhat)
                    offset = fh.tell()
            except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as exc:
                raise InputValueError(f"{mwhat} cannot be read: the archive is damaged ({exc}).") from None
            if dtype.hasobject or dtype.fields is not None:
                raise InputTypeError(f"{_label(name, source)} array {key!r} has dtype {dtype}, which cannot be loaded "
                                     "without pickle (refused); supported: float32, float64.")
            if dtype.newbyteorder("=") not in ALLOWED_DTYPES:
                raise InputTypeError(f"{_label(name, source)} array {key!r} has dtype {dtype.name}; "
                                     "supported: float32, float64.")
            count = math.prod(shape)
            if count == 0:
                raise InputValueError(f"{_label(name, source)} array {key!r} is empty (shape {shape}).")
            nbytes = count * dtype.itemsize
            if info.file_size < offset + nbytes:
                raise InputValueError(
                    f"{mwhat} is truncated: its header declares shape {shape} of {dtype.name} ({nbytes} bytes) "
                    f"but the member holds {max(info.file_size - offset, 0)} bytes of data."
                )
            total += nbytes
            plan.append((key, info, shape, fortran, dtype))
        check_memory(f"{what} ({len(plan)} arrays, declared {total} bytes)", 2 * total, max_memory=max_memory)
        out: dict[str, np.ndarray] = {}
        for key, info, shape, fortran, dtype in plan:
            try:
                with archive.open(info) as fh:
                    arr = np.lib.format.read_array(fh, allow_pickle=False)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
                raise InputValueError(f"{what} member {info.filename!r} cannot be read: the data is damaged ({exc}).") from None
            if arr.shape != shape or arr.dtype != dtype:  # pragma: no cover - read_array honours the header
                raise InputValueError(f"{what} member {info.filename!r} does not match its header.")
            out[key] = arr.astype(arr.dtype.newbyteorder("="), copy=False)
    return out
