"""Scale-out benchmark (issue #29): capture processes on the shared Redis stream, against a bare ASGI handler
on the same machine with the same load generator; then the owner's rate of storing what they took, and the
time from a capture process's 202 to the event being readable from the owner. A benchmark, not a test.

    .venv/bin/python bench/scale.py                  # 1 and 2 capture processes, 15 s per phase
    .venv/bin/python bench/scale.py --processes 1 --seconds 10

Per process count N (each process on its own port, one single-threaded `wrk` per process, 64 connections
each, single-event bodies from the demo generator):
  bare      N of `uvicorn bench.bare_asgi:app` (uvloop, httptools): reads the body, answers 202
  capture   N of `belvedere serve --role capture` feeding one owner (`belvedere serve` with the stream)
            through a redis-server of the benchmark's own (`appendonly yes`, `appendfsync always`)
  stored    events the owner stored, from the phase's start until its relay and spool are empty
Then `lag`: 300 probes, each an event sent to a capture process (under no other load) and polled on the
owner's read API until found. Everything shares this machine's cores: the load generators, the capture
processes, Redis and the owner.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server_kit import Server, cli, free_port  # noqa: E402
from tests.redis_kit import OwnRedis  # noqa: E402

from bench.calibrate import calibrate  # noqa: E402
from bench.ingest import (  # noqa: E402
    bodies,
    ensure_wrk,
    metric,
    probe_queryable,
    wait_drained,
    write_results,
    wrk_command,
    wrk_result,
)
from bench.loadgen import percentile  # noqa: E402

CONNECTIONS = 64


def wrk_all(urls: list[str], key: str, body_file: Path, seconds: int) -> dict[str, Any]:
    """One closed-loop wrk per URL, at the same time; requests per second summed."""
    runs = [
        subprocess.Popen(
            wrk_command(url, key, body_file, seconds, CONNECTIONS), stdout=subprocess.PIPE, text=True
        )
        for url in urls
    ]
    found = []
    for run in runs:
        out, _ = run.communicate()
        found.append(wrk_result(out))
    rps = sum(f["requests"] / (f["duration_us"] / 1e6) for f in found)
    errors = sum(f["errors_status"] + f["errors_connect"] + f["errors_timeout"] for f in found)
    return {
        "rps": rps,
        "requests": sum(f["requests"] for f in found),
        "errors": errors,
        "p99_ms": max(f["p99_us"] for f in found) / 1000,
    }


@contextmanager
def bare(processes: int) -> Iterator[list[str]]:
    ports = [free_port() for _ in range(processes)]
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_asgi:app",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--lifespan",
                "off",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            _wait_up(url)
        yield urls
    finally:
        for process in started:
            process.terminate()
            process.wait(10)


def _wait_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.post(f"{url}/api/v1/capture", content=b"{}", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15, help="length of each load phase")
    parser.add_argument("--processes", default="1,2", help="capture process counts to measure")
    parser.add_argument("--probes", type=int, default=300, help="lag probes")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="belvedere-scale-"))
    owner_dir = work / "owner"
    made = orjson.loads(cli(owner_dir, "project", "create", "--name", "Bench", "--json").stdout)
    key, api_key, project_id = made["write_key"], made["api_key"], made["project_id"]
    single = bodies(work / "single.ndjson", batch=1, count=5000)
    redis_server = OwnRedis(work / "redis")
    redis_server.start()
    stream = {"BELVEDERE_INGEST__STREAM_URL": redis_server.url, "BELVEDERE_LOG_LEVEL": "warning"}
    shared = {**stream, "BELVEDERE_DATABASE_URL": f"sqlite:///{(owner_dir / 'belvedere.db').resolve()}"}
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores ({_cpu()}), {psutil.virtual_memory().total / 2**30:.1f} GiB RAM,"
        f" {platform.machine()}, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "calibration": calibrate(),
        "seconds_per_phase": args.seconds,
        "connections_per_process": CONNECTIONS,
        "redis": "own redis-server, appendonly yes, appendfsync always",
    }
    owner = Server(owner_dir, **stream).start()
    try:
        for n in counts:
            with bare(n) as urls:
                results[f"bare x{n}"] = wrk_all(urls, key, single, args.seconds)
            captures = [
                Server(work / f"capture-{n}-{i}", args=("--role", "capture"), **shared).start()
                for i in range(n)
            ]
            try:
                before = metric(owner.url, "belvedere_store_rows_total")
                started = time.perf_counter()
                results[f"capture x{n}"] = wrk_all([c.url for c in captures], key, single, args.seconds)
                loaded = time.perf_counter() - started
                drained = wait_drained(owner.url, timeout=600)
                stored = metric(owner.url, "belvedere_store_rows_total") - before
                results[f"stored after capture x{n}"] = {
                    "events": stored,
                    "seconds": loaded + drained,
                    "events_per_s": stored / (loaded + drained),
                    "drain_after_load_s": drained,
                }
                if n == counts[0]:
                    delays = probe_queryable(
                        owner.url, key, api_key, project_id, args.probes, capture_url=captures[0].url
                    )
                    results["lag"] = {
                        "samples": len(delays),
                        "p50_ms": percentile(delays, 50) * 1000,
                        "p99_ms": percentile(delays, 99) * 1000,
                        "max_ms": max(delays) * 1000,
                        "mean_ms": statistics.fmean(delays) * 1000,
                    }
            finally:
                for capture in captures:
                    capture.stop()
            results[f"capture x{n}"]["fraction_of_bare"] = (
                results[f"capture x{n}"]["rps"] / results[f"bare x{n}"]["rps"]
            )
    finally:
        owner.stop()
        redis_server.kill()
    results["calibration_end"] = calibrate()
    write_results(args.out, "scale", results)
    shutil.rmtree(work, ignore_errors=True)


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    main()
