"""An HTTP/1.1 proxy for the network-remote benchmarks: adds a fixed delay to every request (like
the round trip to a real cloud region) and counts requests by method.

    python3 bench/latency_proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_MS [WORKERS]

`GET /__proxy/counts` (not forwarded, not counted) answers the counts since the previous call
as JSON, e.g. {"HEAD": 5, "GET": 12, "total": 17}. Requests go to the upstream server on
127.0.0.1 over kept-alive connections from a pool (a new one only when all are busy), so the
proxy adds its delay and nothing else: it must never be what limits the tools it measures.
WORKERS processes (default 2) share the listening socket and count into shared memory.

With S3S_ROOT set to the folder s3s-fs 0.14 serves, a `HEAD` of a key that is a folder there (a
prefix of other keys) is answered 404, as S3 and later s3s-fs versions answer, instead of that
version's 500 (DVC's S3 client asks such a `HEAD` before it lists). UPSTREAM_CONNECTIONS caps
the upstream connections of each worker. Standard library only.
"""

import asyncio
import ctypes
import json
import mmap
import os
import signal
import socket
import struct
import sys
from urllib.parse import unquote

LISTEN, UPSTREAM, DELAY = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000.0
WORKERS = int(sys.argv[4]) if len(sys.argv) > 4 else 2
S3S_ROOT = os.environ.get("S3S_ROOT")
# Upstream connections at once per worker (unbounded unless set): a server that serves one
# connection at a time with a short listen queue (gcp-storage-emulator) drops the rest.
UPSTREAM_LIMIT = int(os.environ.get("UPSTREAM_CONNECTIONS") or 0)
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PROPFIND", "MKCOL", "MOVE", "COPY", "OTHER"]
SLOT = struct.calcsize("q")
# Shared by the forked workers: one row of monotonic counters per worker, then the totals
# reported by the previous `/__proxy/counts` (each answer is the difference).
shared = mmap.mmap(-1, SLOT * len(METHODS) * (WORKERS + 1))
counters = memoryview(shared).cast("q")
HOP = ("connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection")


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


async def read_chunked(reader):
    body = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            # Trailers, if any, end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return bytes(body)
        body += await reader.readexactly(size + 2)
        del body[-2:]


class Pool:
    """Idle kept-alive connections to the upstream server."""

    def __init__(self):
        self.idle = []
        self.slots = asyncio.Semaphore(UPSTREAM_LIMIT) if UPSTREAM_LIMIT else None

    async def request(self, method, target, headers, body):
        if not self.slots:
            return await self.send(method, target, headers, body)
        async with self.slots:
            return await self.send(method, target, headers, body)

    async def send(self, method, target, headers, body):
        kept = [(k, v) for k, v in headers if k.lower() not in HOP and k.lower() != "content-length"]
        if body or method in ("PUT", "POST"):
            kept.append(("Content-Length", str(len(body))))
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
        data = head.encode("latin-1") + b"\r\n" + body
        # A pooled connection the server closed meanwhile fails before any answer: try a new one.
        for attempt in range(2):
            fresh = not self.idle or attempt == 1
            reader, writer = (
                await asyncio.open_connection("127.0.0.1", UPSTREAM) if fresh else self.idle.pop()
            )
            try:
                writer.write(data)
                raw = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if fresh:
                    raise
                continue
            status, rheaders = parse_head(raw[:-4])
            code = int(status.split(" ", 2)[1])
            connection = (header(rheaders, "connection") or "").lower()
            if status.startswith("HTTP/1.0"):
                reusable = connection == "keep-alive"
            else:
                reusable = connection != "close"
            if method == "HEAD" or code in (204, 304) or code < 200:
                rbody = b""
            elif (header(rheaders, "transfer-encoding") or "").lower() == "chunked":
                rbody = await read_chunked(reader)
            elif header(rheaders, "content-length") is not None:
                rbody = await reader.readexactly(int(header(rheaders, "content-length")))
            else:
                rbody, reusable = await reader.read(-1), False
            if reusable:
                self.idle.append((reader, writer))
            else:
                writer.close()
            return status, rheaders, rbody
        raise ConnectionError("upstream closed every connection")


def is_folder(target):
    """Whether `target` names a folder in S3S_ROOT (`/bucket/key?query`, path-style)."""
    path = unquote(target.split("?", 1)[0]).lstrip("/")
    return bool(path) and "/" in path and os.path.isdir(os.path.join(S3S_ROOT, path))


def counts_since_last_call():
    n = len(METHODS)
    totals = [sum(counters[w * n + i] for w in range(WORKERS)) for i in range(n)]
    base = WORKERS * n
    answer = {m: totals[i] - counters[base + i] for i, m in enumerate(METHODS)}
    for i in range(n):
        counters[base + i] = totals[i]
    answer = {m: c for m, c in answer.items() if c}
    answer["total"] = sum(answer.values())
    return answer


async def handle(reader, writer, pool, row):
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
            if (header(headers, "transfer-encoding") or "").lower() == "chunked":
                body = await read_chunked(reader)
            else:
                length = int(header(headers, "content-length") or 0)
                body = await reader.readexactly(length) if length else b""
            if target.startswith("/__proxy/counts"):
                answer = json.dumps(counts_since_last_call()).encode()
                status, rheaders, rbody = "HTTP/1.1 200 OK", [], answer
            else:
                i = METHODS.index(method) if method in METHODS else len(METHODS) - 1
                counters[row + i] += 1
                if DELAY:
                    await asyncio.sleep(DELAY)
                if S3S_ROOT and method == "HEAD" and is_folder(target):
                    status, rheaders, rbody = "HTTP/1.1 404 Not Found", [], b""
                else:
                    status, rheaders, rbody = await pool.request(method, target, headers, body)
            kept = [(k, v) for k, v in rheaders if k.lower() not in HOP]
            if method != "HEAD":
                kept = [(k, v) for k, v in kept if k.lower() != "content-length"]
                kept.append(("Content-Length", str(len(rbody))))
            head = status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
            writer.write((head + "Connection: keep-alive\r\n\r\n").encode("latin-1") + rbody)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def serve(sock, worker):
    pool = Pool()
    row = worker * len(METHODS)
    server = await asyncio.start_server(lambda r, w: handle(r, w, pool, row), sock=sock)
    async with server:
        await server.serve_forever()


def main():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", LISTEN))
    sock.listen(1024)
    for worker in range(1, WORKERS):
        if os.fork() == 0:
            # Die with the first process (PR_SET_PDEATHSIG), which is the one the caller stops.
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)
            asyncio.run(serve(sock, worker))
            return
    asyncio.run(serve(sock, 0))


main()
