"""Jobs for the job platform's tests, and a worker process to run them (``python -m``).

``record`` writes one row per run to ``effects_seen`` through the job's session, so the row exists only if
the run committed: counting rows per job counts committed runs. ``flaky`` fails until its attempt number
reaches ``succeed_on``. ``deliver`` POSTs to a receiver once per job, through the effects ledger.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta

import httpx
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from belvedere.platform import migrate
from belvedere.platform.db import make_engine, make_session_factory
from belvedere.platform.jobs import JobContext, Jobs, Permanent, Registry, RetryPolicy, Worker

registry = Registry()
test_tables = MetaData()
effects_seen = Table(
    "effects_seen",
    test_tables,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, nullable=False),
    Column("worker", String(100), nullable=False),
)


@registry.job("record", retry=RetryPolicy(max_attempts=3, base=timedelta(milliseconds=50)))
def record(ctx: JobContext) -> None:
    ctx.session.execute(insert(effects_seen).values(job_id=ctx.id, worker=ctx.claim.payload.get("w", "")))
    pause = float(ctx.payload.get("sleep", 0))
    if pause:
        time.sleep(pause)


@registry.job("flaky", retry=RetryPolicy(max_attempts=3, base=timedelta(seconds=10)))
def flaky(ctx: JobContext) -> None:
    if ctx.attempt < int(ctx.payload.get("succeed_on", 99)):
        raise RuntimeError(f"flaky failure on attempt {ctx.attempt}")
    ctx.session.execute(insert(effects_seen).values(job_id=ctx.id, worker="flaky"))


@registry.job("refuse")
def refuse(ctx: JobContext) -> None:
    raise Permanent("the input is wrong: no retry can fix it")


@registry.job(
    "deliver",
    retry=RetryPolicy(max_attempts=5, base=timedelta(milliseconds=100)),
    timeout=timedelta(seconds=30),
)
def deliver(ctx: JobContext) -> None:
    key = f"deliver:{ctx.id}"
    if ctx.effect_done(key) is not None:
        return
    response = httpx.post(
        ctx.payload["url"],
        json={"id": key, "n": ctx.payload.get("n")},
        headers={"Delivery-Id": key},
        timeout=10,
    )
    response.raise_for_status()
    ctx.record_effect(key, {"status": response.status_code})


def make_jobs(url: str) -> Jobs:
    engine = make_engine(url)
    migrate.upgrade(engine)
    test_tables.create_all(engine)
    return Jobs(make_session_factory(engine), registry)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--lease", type=float, default=60)
    parser.add_argument("--poll", type=float, default=0.05)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    worker = Worker(
        make_jobs(args.url),
        queues=["default"],
        concurrency=args.concurrency,
        lease=timedelta(seconds=args.lease),
        poll=args.poll,
        name=args.name,
    )
    worker.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until its parent closes stdin (or kills it)
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
