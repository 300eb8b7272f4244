#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerates the seed corpus fuzz/corpus/fuzz_npy/ (tiny .npy files, byte-for-byte what
numpy.save writes, without needing numpy) and fuzz/corpus/fuzz_validate/.

Seeds only steer the fuzzer towards the interesting parts of the format quickly; every file
is a few hundred bytes. Run from anywhere: python3 fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def header_dict(descr, shape):
    tup = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, tup)


def npy(descr, shape, data, major=1, text=None):
    """numpy.lib.format's layout: magic, version, header length, dict padded to 64 bytes."""
    header = text if text is not None else header_dict(descr, shape)
    if text is None and shape:
        header += " " * (21 - len(str(shape[0])))  # GROWTH_AXIS_MAX_DIGITS padding
    len_bytes = 2 if major == 1 else 4
    pre = 6 + 2 + len_bytes
    header += " " * (64 - (pre + len(header) + 1) % 64) + "\n"
    length = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + length + header.encode("latin1") + data


def floats(fmt, values):
    return b"".join(struct.pack(fmt, v) for v in values)


def seeds_npy():
    f32 = floats("<f", [0.5 * i - 1 for i in range(6)])
    yield "f32_2x3.npy", npy("<f4", (2, 3), f32)
    yield "f32_v2.npy", npy("<f4", (2, 3), f32, major=2)
    yield "f32_v3.npy", npy("<f4", (6,), f32, major=3)
    yield "f16_1x2x2x2.npy", npy("<f2", (1, 2, 2, 2), floats("<e", [1, -2, 0.5, 65504, 0, -0.0, 3, 4]))
    yield "bool_3x3.npy", npy("|b1", (3, 3), bytes([1, 0, 0, 1, 1, 0, 1, 1, 1]))
    yield "i32_4.npy", npy("<i4", (4,), floats("<i", [0, 7, -1, 2**31 - 1]))
    yield "i64_2.npy", npy("<i8", (2,), floats("<q", [5, -(2**63)]))
    yield "scalar.npy", npy("<f4", (), floats("<f", [3.25]))
    yield "empty_0x5.npy", npy("<f4", (0, 5), b"")
    # Edge cases the reader must refuse (or, for the double-quoted dict, accept).
    yield "double_quotes.npy", npy(None, None, f32[:8],
                                   text='{"descr": "<f4", "fortran_order": False, "shape": (2,)}')
    yield "fortran.npy", npy(None, None, f32, text="{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }")
    yield "big_endian.npy", npy(">f4", (1,), b"\0\0\0\0")
    yield "f64.npy", npy("<f8", (1,), b"\0" * 8)
    yield "huge_shape.npy", npy("<f4", (2**62, 2**62), b"")
    yield "zero_times_huge.npy", npy("<f4", (0, 2**62, 2**62), b"")
    yield "truncated.npy", npy("<f4", (2, 3), f32)[:-3]


def seeds_validate():
    # The fuzzer's decoder reads integers from the end and raw choices from the front; these
    # just give it a few distinct starting points of the sizes it explores well.
    yield "zeros_256", bytes(256)
    yield "ones_256", b"\xff" * 256
    yield "ramp_200", bytes(i % 251 for i in range(200))
    yield "sparse_128", bytes((i * 37) % 7 for i in range(128))


def write(folder, seeds):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name, data in seeds:
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("fuzz_npy", seeds_npy())
    write("fuzz_validate", seeds_validate())
