#!/usr/bin/env python3
"""Writes the seed corpora of the wire fuzzers (run from anywhere; rewrites the seed files).

Every fuzzer cuts its input with FuzzedDataProvider: parameters and piece lengths come from the
end of the file, piece bytes from the front. A seed is therefore
    stream || reversed(piece lengths) || reversed(parameters)
so that it replays `stream` in exactly the intended pieces.
"""
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = HERE.parents[2] / ".." / "shared" / "vectors" / "call-frames.json"


def seed(stream: bytes, piece: int, params: bytes = b"") -> bytes:
    lens = []
    rest = len(stream)
    while rest > 0:
        n = min(piece, rest, 255)
        lens.append(n)
        rest -= n
    return stream + bytes(reversed(lens)) + bytes(reversed(params))


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def chunk(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BI", kind, len(payload)) + payload


def mux(kind: int, payload: bytes) -> bytes:
    return struct.pack(">B3xI", kind, len(payload)) + payload


def write(corpus: str, seeds: dict) -> None:
    out = HERE / corpus
    out.mkdir(exist_ok=True)
    for name, data in seeds.items():
        (out / name).write_bytes(data)


def main() -> None:
    vectors = json.loads(VECTORS.read_text())
    frames = [bytes.fromhex(v["hex"]) for v in vectors["frames"]]
    # The frame fuzzer's parameters: limit selector (< 0xC0: the 64 MiB limit), repeat count - 1.
    real_limit = b"\x00\x00"
    frame_seeds = {f"vector-{v['name']}": seed(f, 255, real_limit)
                   for v, f in zip(vectors["frames"], frames)}
    frame_seeds["all-vectors-in-13-byte-pieces"] = seed(b"".join(frames), 13, real_limit)
    frame_seeds["repeated-8-times"] = seed(
        b"".join(frames) + frame(b'{"type":"t","id":"i","payload":"' + b"a" * 12000 + b'"}'), 250,
        b"\x00\x07")
    frame_seeds["byte-by-byte"] = seed(frames[2], 1, real_limit)
    frame_seeds["tiny-limit"] = seed(frames[0] + frames[1], 40, b"\xd0\x00")
    frame_seeds["trailing-stub"] = seed(frames[3] + b"\x00\x00", 255, real_limit)
    frame_seeds["deep-129"] = seed(
        frame(b'{"type":"t","id":"i","payload":' + b"[" * 128 + b"]" * 128 + b"}"), 64, real_limit)
    frame_seeds["unicode-escapes"] = seed(
        frame('{"payload":{"s":"\\u00e9\\ud83d\\udc33\\n","n":-1.5e-7},"id":"é","type":"x"}'
              .encode()), 255, real_limit)
    for v in vectors["reject"]:
        hexs = v["hex"][: len(v["hex"]) // 2 * 2]
        frame_seeds[f"reject-{v['name']}"] = seed(bytes.fromhex(hexs), 255, real_limit)
    write("frame_decoder", frame_seeds)

    chunks = [bytes.fromhex(v["hex"]) for v in vectors["chunks"]]
    once = b"\x00"  # the chunk fuzzer's parameter: repeat count - 1
    chunk_seeds = {f"vector-{v['name']}": seed(c, 255, once)
                   for v, c in zip(vectors["chunks"], chunks)}
    chunk_seeds["all-vectors-in-3-byte-pieces"] = seed(b"".join(chunks), 3, once)
    chunk_seeds["zero-length-every-type"] = seed(b"".join(chunk(t, b"") for t in range(5)), 2, once)
    chunk_seeds["repeated-8-times"] = seed(b"".join(chunks) + chunk(1, bytes(range(256)) * 48), 250,
                                           b"\x07")
    for v in vectors["chunk_reject"]:
        chunk_seeds[f"reject-{v['name']}"] = seed(bytes.fromhex(v["hex"]), 255, once)
    chunk_seeds["partial-header"] = seed(chunk(1, b"abc")[:3], 1, once)
    write("chunk_decoder", chunk_seeds)

    sample = mux(1, b"hello\n") + mux(2, b"oops\n") + mux(1, b"") + mux(3, b"daemon")
    write("mux_decoder", {
        "stdout-stderr": seed(sample, 255),
        "stdout-stderr-in-5-byte-pieces": seed(sample, 5),
        "empty-frame": seed(mux(2, b""), 1),
        "bad-header": seed(mux(1, b"x") + b"\x01\x00\x01\x00\x00\x00\x00\x01x", 255),
        "bad-stream-type": seed(mux(1, b"x") + mux(4, b"y"), 4),
        "truncated-payload": seed(mux(1, b"0123456789")[:14], 3),
        "long-frame": seed(mux(1, bytes(range(256)) * 2), 100),
    })

    # The response fuzzer's parameters, in the order it takes them: the head action (0 body,
    # 1 upgrade, 2 pause) and a body pause every N bytes (0: never).
    def http(action: int, pause_every: int) -> bytes:
        return bytes([action, pause_every])

    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    write("response_parser", {
        "chunked": seed(chunked, 255, http(0, 0)),
        "chunked-in-3-byte-pieces-pausing": seed(chunked, 3, http(0, 4)),
        "content-length": seed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\n"
                               b'{"message":"No such image"}\n\ntrailing', 7, http(0, 0)),
        "until-eof": seed(b"HTTP/1.0 200 OK\r\n\r\nbody until the connection closes", 255,
                          http(0, 5)),
        "hijack-101": seed(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                           b"\x01\x00\x00\x00\x00\x00\x00\x02hi", 9, http(1, 0)),
        "interim-then-pause": seed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                                   b"Content-Length: 3\r\n\r\nabc", 11, http(2, 1)),
        "bad-chunk-size": seed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 255,
                               http(0, 0)),
    })

    # The line fuzzer's parameter: the line limit - 1 (0..255).
    pull = (b'{"status":"Pulling from library/busybox","id":"latest"}\r\n'
            b'{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"a1"}\n\n'
            b'{"status":"Digest: sha256:00"}\n{"status":"Status: Downloaded newer image"}')
    write("line_splitter", {
        "pull-progress": seed(pull, 255, bytes([255])),
        "pull-progress-in-7-byte-pieces": seed(pull, 7, bytes([255])),
        "blank-and-cr-lines": seed(b"\r\n \t\n\r\r\n{}\n\n", 2, bytes([7])),
        "line-over-the-limit": seed(b"ok\n123456789\nmore\n", 4, bytes([7])),
        "unterminated-tail-over-the-limit": seed(b"ok\n" + b"x" * 40, 5, bytes([31])),
    })


if __name__ == "__main__":
    main()
