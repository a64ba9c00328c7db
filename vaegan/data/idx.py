"""Reader for the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), gzipped or not.

Layout: two zero bytes, a type code (0x08 = unsigned byte, the only one these datasets use), the number of
dimensions, then each dimension as a big-endian uint32, then the data in C order.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from vaegan.data.errors import DatasetFormatError

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes -> writable uint8 array of the shape in its header.

    Gzip is recognised by content, not by file name. Raises DatasetFormatError naming the file on a bad
    magic number, an unsupported type, or a size that disagrees with the header (truncated or padded file).
    """
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DatasetFormatError(f"{path}: corrupt or truncated gzip stream ({err}); delete it and fetch it again") from err
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise DatasetFormatError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty file'})")
    if data[2] != _UBYTE:
        raise DatasetFormatError(f"{path}: IDX data type 0x{data[2]:02x} is not supported, expected 0x08 (unsigned byte)")
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DatasetFormatError(f"{path}: truncated IDX header ({len(data)} bytes, needs {header_size})")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = math.prod(shape)
    found = len(data) - header_size
    if found != expected:
        problem = "truncated" if found < expected else "has trailing bytes"
        raise DatasetFormatError(
            f"{path}: file {problem}: header says shape {shape} ({expected} bytes of data), found {found} bytes"
        )
    # frombuffer views the immutable bytes; copy so torch gets a writable array it can own.
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape).copy()
