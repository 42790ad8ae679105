"""Plain data across the sandbox boundary: what round-trips and what is refused."""

import math

import numpy as np
import pytest

from hone.sandbox import codec


def roundtrip(value: object) -> object:
    return codec.decode(codec.encode(value)[8:])


def test_plain_values_round_trip() -> None:
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, (2, 3)), "inf": math.inf}
    assert roundtrip(value) == value
    assert math.isnan(roundtrip(float("nan")))  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8", "bool"])
def test_arrays_round_trip_with_dtype_and_shape(dtype: str) -> None:
    array = np.arange(12).reshape(3, 4).astype(dtype)[:, ::2]  # not contiguous
    back = roundtrip(array)
    assert isinstance(back, np.ndarray) and back.dtype == array.dtype
    assert np.array_equal(back, array)
    assert roundtrip(np.float32(1.5)) == 1.5


@pytest.mark.parametrize(
    "value", [object(), {1: 2}, {"__ndarray__": 1}, np.array(["a"]), np.array([object()])]
)
def test_values_that_are_not_plain_data_are_refused(value: object) -> None:
    with pytest.raises(codec.CodecError):
        codec.encode(value)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"__ndarray__": "AAAA", "dtype": "|O", "shape": [1]}',
        b'{"__ndarray__": "AAAA", "dtype": "<f8", "shape": [5]}',
        b'{"__ndarray__": "AAAA", "dtype": "<f8", "shape": [-1]}',
        b'{"__float__": "__import__(\'os\')"}',
        b'{"__reduce__": 1}',
        b"not json",
    ],
)
def test_hostile_messages_are_refused(raw: bytes) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(raw)
