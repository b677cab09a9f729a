"""An HTTP/1.1 proxy for the S3 benchmark: adds a fixed delay to every request (like the round
trip to a real S3 region) and counts requests by method.

    python3 bench/latency_proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_MS

`GET /__proxy/counts` (not forwarded, not counted) answers the counts since the previous call
as JSON, e.g. {"HEAD": 5, "GET": 12, "total": 17}, and starts counting again. Each request goes
to the upstream (moto on 127.0.0.1) on a new connection; the answer goes back to the client
with a Content-Length, on its kept-alive connection. Standard library only.
"""

import asyncio
import json
import sys
from collections import Counter

LISTEN, UPSTREAM, DELAY = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000.0
counts = Counter()


def parse_head(raw):
    lines = raw.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
    return lines[0], headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def dechunk(body):
    out, i = bytearray(), 0
    while True:
        j = body.index(b"\r\n", i)
        size = int(body[i:j].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[j + 2 : j + 2 + size]
        i = j + 2 + size + 2


async def forward(method, target, headers, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", UPSTREAM)
    kept = [(k, v) for k, v in headers if k.lower() not in ("connection", "expect", "keep-alive")]
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
    writer.write((head + "Connection: close\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    raw = await reader.read(-1)
    writer.close()
    split = raw.index(b"\r\n\r\n")
    status, rheaders = parse_head(raw[:split])
    rbody = raw[split + 4 :]
    if (header(rheaders, "transfer-encoding") or "").lower() == "chunked":
        rbody = dechunk(rbody)
    return status, rheaders, rbody


async def handle(reader, writer):
    try:
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request, headers = parse_head(raw[:-4])
            method, target, _ = request.split(" ", 2)
            if (header(headers, "expect") or "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            length = int(header(headers, "content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            if (header(headers, "transfer-encoding") or "").lower() == "chunked":
                chunked = bytearray()
                while True:
                    line = await reader.readuntil(b"\r\n")
                    size = int(line.split(b";")[0], 16)
                    chunked += await reader.readexactly(size + 2)
                    if size == 0:
                        break
                    chunked[-2:] = b""
                body = bytes(chunked)
                headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
                headers.append(("Content-Length", str(len(body))))
            if target.startswith("/__proxy/counts"):
                answer = dict(counts)
                answer["total"] = sum(counts.values())
                counts.clear()
                status, rheaders, rbody = "HTTP/1.1 200 OK", [], json.dumps(answer).encode()
            else:
                counts[method] += 1
                if DELAY:
                    await asyncio.sleep(DELAY)
                status, rheaders, rbody = await forward(method, target, headers, body)
            kept = [
                (k, v)
                for k, v in rheaders
                if k.lower() not in ("connection", "transfer-encoding", "keep-alive")
                and not (k.lower() == "content-length" and method != "HEAD")
            ]
            if method != "HEAD":
                kept.append(("Content-Length", str(len(rbody))))
                payload = rbody
            else:
                payload = b""
            head = status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
            writer.write((head + "Connection: keep-alive\r\n\r\n").encode("latin-1") + payload)
            await writer.drain()
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN, backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
