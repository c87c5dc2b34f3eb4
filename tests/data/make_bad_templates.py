#!/usr/bin/env python3
"""Regenerates the bad template files in templates/ from templates/valid-logs.pb (a
small logs template written by telemetry-generator: 12 log records in 2 chunks).
Only for maintainers: the files are checked in, and tests never run this script.
Layout (docs/template-format.md): 16-byte header, chunks of u32 len | u32 crc32 |
u64 items | payload, then a 24-byte trailer u32 0 | u32 crc | u64 chunks | u64 items."""
import os
import struct
import zlib

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
good = open(os.path.join(here, "valid-logs.pb"), "rb").read()
first_len = struct.unpack_from("<I", good, 16)[0]
chunk1 = 16 + 16 + first_len  # Offset of the second chunk record.
trailer = len(good) - 24


def put(name, data):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)


def with_u32(data, offset, value):
    b = bytearray(data)
    struct.pack_into("<I", b, offset, value)
    return bytes(b)


put("empty.pb", b"")
put("short-header.pb", good[:10])
put("wrong-magic.pb", b"OTLPTMPX" + good[8:])
put("wrong-version.pb", with_u32(good, 8, 2))
put("wrong-signal.pb", with_u32(good, 12, 9))
put("truncated-payload.pb", good[: 32 + first_len // 2])
put("truncated-chunk-header.pb", good[: chunk1 + 6])
put("no-trailer.pb", good[:trailer])
flipped = bytearray(good)
flipped[32 + 40] ^= 0x10
put("bitflip-payload.pb", bytes(flipped))
put("oversized-length.pb", with_u32(good, 16, 0xFFFFFFF0))
counts = struct.pack("<QQ", 3, 12)  # The file has 2 chunks; the checksum is right.
put("bad-trailer-count.pb", good[:trailer] + struct.pack("<II", 0, zlib.crc32(counts)) + counts)
put("trailing-garbage.pb", good + b"\x00junk")
# A chunk whose CRC is right but whose payload is not an ExportLogsServiceRequest: the
# reader passes it, the frame compiler must refuse it.
junk = b"\x0a\xff\xff\xff\x0f" + b"\x01" * 27
put("not-protobuf.pb",
    good[:16] + struct.pack("<IIQ", len(junk), zlib.crc32(junk), 1) + junk +
    struct.pack("<I", 0) + struct.pack("<I", zlib.crc32(struct.pack("<QQ", 1, 1))) +
    struct.pack("<QQ", 1, 1))
