"""Open-loop HTTP load at a fixed rate, over keep-alive connections, with latency measured from each
request's *scheduled* time (so a slow server cannot hide its queueing: no coordinated omission)."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field


@dataclass
class OpenLoopResult:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    duration_s: float = 0.0


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    rate: float,
    t0: float,
    end: float,
    counter: itertools.count[int],
    result: OpenLoopResult,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    loop = asyncio.get_running_loop()
    try:
        while True:
            i = next(counter)
            scheduled = t0 + i / rate
            if scheduled >= end:
                return
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(requests[i % len(requests)])
            result.sent += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            result.latencies_ms.append((loop.time() - scheduled) * 1000)
            if status == 202:
                result.ok += 1
            else:
                result.errors += 1
    finally:
        writer.close()


def build_request(host: str, port: int, path: str, key: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def open_loop(
    host: str, port: int, requests: list[bytes], *, rate: float, seconds: float, connections: int = 64
) -> OpenLoopResult:
    result = OpenLoopResult()
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2
    end = t0 + seconds
    counter = itertools.count()
    started = time.perf_counter()
    await asyncio.gather(
        *(_worker(host, port, requests, rate, t0, end, counter, result) for _ in range(connections))
    )
    result.duration_s = time.perf_counter() - started
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main() -> None:
    import argparse
    import json

    import uvloop

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--bodies", required=True, help="file with one JSON body per line")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    from urllib.parse import urlsplit

    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with open(args.bodies, "rb") as handle:
        bodies = [line.rstrip(b"\n") for line in handle if line.strip()]
    requests = [build_request(host, port, "/api/v1/capture", args.key, b) for b in bodies]
    result = uvloop.run(
        open_loop(host, port, requests, rate=args.rate, seconds=args.seconds, connections=args.connections)
    )
    print(
        json.dumps(
            {
                "sent": result.sent,
                "ok": result.ok,
                "errors": result.errors,
                "duration_s": result.duration_s,
                "achieved_rate": result.ok / result.duration_s if result.duration_s else 0,
                "p50_ms": percentile(result.latencies_ms, 50),
                "p90_ms": percentile(result.latencies_ms, 90),
                "p99_ms": percentile(result.latencies_ms, 99),
                "max_ms": max(result.latencies_ms, default=0),
            }
        )
    )


if __name__ == "__main__":
    main()
