"""A DynamoDB stand-in for the writer benches: the JSON protocol on 127.0.0.1, a fixed latency per request.

Run as its own process (``python bench/writer_store.py LATENCY_MS``; it prints its port, then serves until
stdin closes) so that its CPU time never counts in the measured process. asyncio serves every connection
on one thread: holding a request for the latency costs nothing, so the latency is what the client sees.

Answers, after the latency: ``PutItem`` → ``{}`` (written); every ``ConditionalCheckFailed`` is up to the
client's data, not simulated. The status line, headers and body go out in one write: with Nagle on
the client side (botocore does not set TCP_NODELAY), a response split in two writes would wait for the
client's delayed ACK, adding ~40 ms that belong to no real service.
"""

from __future__ import annotations

import asyncio
import sys

_OK = b"{}"


def _response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        "x-amzn-RequestId: bench\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
    counts = _COUNTS
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(latency)
            counts[0] += 1
            writer.write(_response(_OK))
    except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
        pass
    finally:
        writer.close()


_COUNTS = [0]


async def _main(latency: float) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, latency), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the bench closes our stdin
    server.close()


if __name__ == "__main__":
    asyncio.run(_main(float(sys.argv[1]) / 1000))
