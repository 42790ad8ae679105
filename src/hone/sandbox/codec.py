"""Plain data across the sandbox boundary: JSON with numeric arrays, never pickle.

What crosses: None, bool, int, float (NaN and infinities too), str, lists, tuples, dicts with
string keys, and numpy arrays and scalars of bool, integer or float dtype. Decoding checks every
array's dtype, shape and byte count, so a hostile peer can send wrong values but never code.
Messages are framed as an 8-byte big-endian length and the JSON bytes.
"""

from __future__ import annotations

import base64
import json
import math
import os
from typing import Any

from hone.sandbox import write_all

MAX_MESSAGE = 256 << 20  # bytes
_DTYPES = {"b", "i", "u", "f"}  # bool, signed, unsigned, float


class CodecError(ValueError):
    """A message that is not plain data of the allowed kinds."""


def encode(value: Any) -> bytes:
    """`value` as framed JSON bytes."""
    data = json.dumps(_plain(value), allow_nan=False, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE:
        raise CodecError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE}")
    return len(data).to_bytes(8, "big") + data


def decode(data: bytes) -> Any:
    """Inverse of `encode` without the frame; raises CodecError for anything else."""
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not JSON: {exc}") from None
    return _value(raw)


def send(fd: int, value: Any) -> None:
    """Write one framed message to a file descriptor."""
    write_all(fd, encode(value))


def receive(fd: int) -> Any:
    """Read one framed message; EOFError when the peer closed the channel."""
    size = int.from_bytes(_read_exactly(fd, 8), "big")
    if size > MAX_MESSAGE:
        raise CodecError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
    return decode(_read_exactly(fd, size))


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the channel was closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_plain(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CodecError("only dicts with string keys cross the sandbox")
        if any(k.startswith("__") for k in value):
            raise CodecError("dict keys starting with '__' are reserved")
        return {k: _plain(v) for k, v in value.items()}
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in _DTYPES and hasattr(value, "tobytes"):
        if getattr(value, "ndim", 0) == 0:
            return _plain(value.item())
        array = value if value.flags.c_contiguous else value.copy(order="C")
        return {
            "__ndarray__": base64.b64encode(array.tobytes()).decode(),
            "dtype": array.dtype.str,
            "shape": list(array.shape),
        }
    raise CodecError(f"a {type(value).__name__} cannot cross the sandbox; use plain data")


def _value(raw: Any) -> Any:
    if raw is None or isinstance(raw, bool | int | float | str):
        return raw
    if isinstance(raw, list):
        return [_value(v) for v in raw]
    if not isinstance(raw, dict):
        raise CodecError(f"unexpected {type(raw).__name__}")
    if "__tuple__" in raw:
        return tuple(_value(v) for v in _field(raw, "__tuple__", list))
    if "__float__" in raw:
        text = _field(raw, "__float__", str)
        if text not in ("nan", "inf", "-inf"):
            raise CodecError(f"bad float {text!r}")
        return float(text)
    if "__ndarray__" in raw:
        return _array(raw)
    if any(not isinstance(k, str) or k.startswith("__") for k in raw):
        raise CodecError("reserved dict key")
    return {k: _value(v) for k, v in raw.items()}


def _array(raw: dict[str, Any]) -> Any:
    import numpy as np

    dtype = np.dtype(_field(raw, "dtype", str))
    if dtype.kind not in _DTYPES or dtype.hasobject:
        raise CodecError(f"arrays of dtype {dtype} do not cross the sandbox")
    shape = _field(raw, "shape", list)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise CodecError("bad array shape")
    data = base64.b64decode(_field(raw, "__ndarray__", str), validate=True)
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise CodecError("array data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _field(raw: dict[str, Any], key: str, kind: type) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind):
        raise CodecError(f"bad {key!r}")
    return value
