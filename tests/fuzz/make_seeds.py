#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

Seeds are small, valid or nearly valid inputs, so libFuzzer starts from the
real wire format instead of discovering protobuf from nothing. Each input
starts with the target's 3 control bytes (see fuzz_frame.c / fuzz_wire.c).
Run from the repository root; the files are committed."""
import os
import struct

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out

def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload

def frame(body):
    return struct.pack(">I", len(body)) + body

def hello(version=1, transport=0, address=b"", pid=4242):
    m = field(1, 0, pid) + field(2, 0, version)
    if transport:
        m += field(3, 0, transport)
    if address:
        m += field(4, 2, address)
    return m

def reply(rid, status=0, error=b"", payload=b""):
    m = field(1, 0, rid)
    if status:
        m += field(2, 0, status)
    if error:
        m += field(3, 2, error)
    if payload:
        m += field(4, 2, payload)
    return m

def write(target, name, data):
    d = os.path.join("tests", "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

MAX = b"\x40\x00"  # max frame 16384

# fuzz_wire: byte 0 = transport (bit 0) | feed size (bits 1-7)
pipe_stream = frame(hello()) + frame(reply(1, payload=b"ping")) + frame(reply(2))
write("wire", "pipe_ok", b"\x08" + MAX + pipe_stream)
write("wire", "pipe_bytewise", b"\x00" + MAX + pipe_stream)
write("wire", "grpc_hello", b"\x09" + MAX + frame(hello(transport=1, address=b"unix:/tmp/w0-1.sock")))
write("wire", "grpc_no_address", b"\x09" + MAX + frame(hello(transport=1)))
write("wire", "bad_version", b"\x08" + MAX + frame(hello(version=2)))
write("wire", "error_reply", b"\x10" + MAX + frame(hello()) +
      frame(reply(7, status=2, error=b"out of memory")))
write("wire", "big_payload", b"\xfe" + MAX + frame(hello()) + frame(reply(3, payload=b"w" * 3000)))
write("wire", "oversize", b"\x08" + b"\x00\x40" + frame(hello()) + struct.pack(">I", 1 << 30))
def compact(tag, rid, body=b""):  # protocol 3: u8 tag | u64 BE id | body
    return struct.pack(">BQ", tag, rid) + body

write("wire", "compact_ok", b"\x08" + MAX + frame(hello(version=3)) +
      frame(compact(0, 1, b"ping")) + frame(compact(0, 2)))
write("wire", "compact_error", b"\x10" + MAX + frame(hello(version=3)) +
      frame(compact(2, 7, b"out of memory")) + frame(compact(3, 8, b"no such method")))
write("wire", "compact_short", b"\x08" + MAX + frame(hello(version=3)) + frame(b"\x00\x00\x01"))
write("wire", "garbage", b"\x08" + MAX + frame(b"\xff\xff\xff\xff\xff"))
write("wire", "truncated", b"\x08" + MAX + frame(hello()) + frame(reply(1, payload=b"abc"))[:-2])

# fuzz_request: byte 0 = compact (bit 0) | feed size (bits 1-7)
def work(cpu_us=0, payload=b""):
    return field(1, 0, cpu_us) + (field(4, 2, payload) if payload else b"")

def call(method, payload=b""):
    return field(1, 2, method) + (field(2, 2, payload) if payload else b"")

def request(rid, kind, body):  # protobuf Request: kind = the oneof's field number
    return field(1, 0, rid) + field(kind, 2, body)

write("request", "protobuf", b"\x08" + MAX + frame(request(1, 2, field(1, 2, b"ping"))) +
      frame(request(2, 3, work(5))) + frame(request(3, 5, call(b"echo", b"x"))) + frame(field(1, 0, 4)))
write("request", "compact", b"\x09" + MAX + frame(compact(2, 1, b"ping")) + frame(compact(3, 2, work(5))) +
      frame(compact(5, 3, call(b"echo", b"x"))) + frame(compact(4, 4)) + frame(compact(99, 5)))
write("request", "compact_bytewise", b"\x01" + MAX + frame(compact(2, 1, b"p")) + frame(b"\x02\x00"))

# fuzz_frame: byte 0 = split pattern, bytes 1-2 = max frame
frames = frame(b"") + frame(b"a") + frame(b"hello") + frame(bytes(range(200)))
write("frame", "several", b"\x05" + MAX + frames)
write("frame", "bytewise", b"\x00" + MAX + frames)
write("frame", "empty_frames", b"\x03" + MAX + frame(b"") * 8)
write("frame", "oversize", b"\x02" + b"\x00\x10" + frame(b"x" * 16) + frame(b"y" * 17))
write("frame", "at_max", b"\x07" + b"\x00\x20" + frame(b"z" * 32))
write("frame", "truncated", b"\x01" + MAX + frame(b"abcdef")[:-3])
write("frame", "half_header", b"\x01" + MAX + b"\x00\x00")
