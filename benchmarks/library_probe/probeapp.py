# ruff: noqa: PLC0415 - each case imports only its own library
"""The library probe's app: one job, ``Probe``, running one third-party library the way its docs
(or a careless job) use it — ``--param case=NAME``; ``--param hold=true`` keeps it working until a
signal or the deadline (it logs ``probe.ready`` first). Driven by ``benchmarks/library_probe.py``;
where each case talks to comes from the environment the driver sets (a loopback sink, Redis,
PostgreSQL, a gRPC echo server, a moto S3 server, a temp dir).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from dependency_injector import containers, providers
from pydantic import BaseModel

import jobframe

log = jobframe.get_logger("probe")
HELD: list[Any] = []  # what a careless job leaves referenced until the process ends
E = os.environ.get


def sentry_default(hold):
    import sentry_sdk

    sentry_sdk.init(dsn=f"http://k@127.0.0.1:{E('SINK_PORT')}/{E('TOKEN')}")  # all default integrations
    sentry_sdk.capture_message("probe")
    return hold


def sentry_error(hold):
    import sentry_sdk

    sentry_sdk.init(dsn=f"http://k@127.0.0.1:{E('SINK_PORT')}/{E('TOKEN')}")
    raise RuntimeError("boom")


def sentry_hang(hold):  # transport to a server that accepts and never answers
    import sentry_sdk

    sentry_sdk.init(dsn=f"http://k@127.0.0.1:{E('HANG_PORT')}/{E('TOKEN')}", shutdown_timeout=2)
    sentry_sdk.capture_message("probe")
    return hold


def tqdm_loop(hold):
    from tqdm import tqdm

    bar = tqdm(range(100), mininterval=0)
    for i in bar:
        time.sleep(0.01)
        if i == 50:
            break  # never closed
    return hold


def requests_session(hold):
    import requests

    s = requests.Session()
    for _ in range(3):
        s.get(f"http://127.0.0.1:{E('SINK_PORT')}/{E('TOKEN')}/ok", timeout=2)
    HELD.append(s)
    return hold


def urllib3_pool(hold):
    import urllib3

    pm = urllib3.PoolManager(maxsize=4)
    pm.request("GET", f"http://127.0.0.1:{E('SINK_PORT')}/{E('TOKEN')}/ok")
    HELD.append(pm)
    return hold


def sqlalchemy_pg(hold):
    import sqlalchemy as sa

    eng = sa.create_engine(E("PG_URL"), pool_size=3)
    with eng.connect() as c:
        c.execute(sa.text("select 1"))
    HELD.append(eng)  # never disposed
    return hold


def sqlalchemy_sqlite(hold):
    import sqlalchemy as sa

    eng = sa.create_engine(f"sqlite:///{E('WORKDIR')}/x.db")
    with eng.begin() as c:
        c.execute(sa.text("create table if not exists t (x int)"))
        c.execute(sa.text("insert into t values (1)"))
    HELD.append(eng)
    return hold


def psycopg_conn(hold):
    import psycopg

    conn = psycopg.connect(E("PG_DSN"))
    conn.execute("select 1")
    if hold:
        log.info("probe.ready")
        conn.execute("select pg_sleep(600)")  # SIGTERM lands in libpq's wait
    return False


def psycopg_pool(hold):
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(E("PG_DSN"), min_size=2, max_size=4)  # never closed: its worker threads
    with pool.connection() as c:
        c.execute("select 1")
    HELD.append(pool)
    return hold


def redis_pubsub_thread(hold):
    import redis

    r = redis.Redis.from_url(E("REDIS_URL"))
    p = r.pubsub()
    p.subscribe(**{"chan": lambda m: None})
    HELD.append((r, p, p.run_in_thread(sleep_time=0.1)))  # non-daemon by default, never stopped
    return hold


def redis_blpop(hold):
    import redis

    r = redis.Redis.from_url(E("REDIS_URL"))
    r.set("probe", "1")
    if hold:
        log.info("probe.ready")
        r.blpop(["nothing"], 0)  # blocks for ever in a socket read
    return False


def boto3_s3(hold):
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=E("S3_URL"),
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    s3.create_bucket(Bucket="probe-bucket")
    path = f"{E('WORKDIR')}/blob"
    with open(path, "wb") as f:
        f.write(os.urandom(12 * 1024 * 1024))
    s3.upload_file(path, "probe-bucket", "k")  # s3transfer's threads, multipart
    return hold


def grpc_channel(hold):
    import grpc

    ch = grpc.insecure_channel(E("GRPC"))
    ch.unary_unary("/zoo.Echo/Ping")(b"x", timeout=2)
    HELD.append(ch)
    return hold


def _square(x):
    return x * x


def _sleep_long(x):
    time.sleep(600)


def joblib_parallel(hold):
    from joblib import Parallel, delayed

    out = Parallel(n_jobs=2)(delayed(_square)(i) for i in range(20))
    assert out[3] == 9
    if hold:
        log.info("probe.ready")
        Parallel(n_jobs=2)(delayed(_sleep_long)(i) for i in range(2))
    return False


def loky_reusable(hold):
    from loky import get_reusable_executor

    ex = get_reusable_executor(max_workers=2)
    assert ex.submit(_square, 3).result() == 9
    if hold:
        log.info("probe.ready")
        ex.submit(_sleep_long, 1).result()
    return False


def loky_ppe(hold):
    from loky import ProcessPoolExecutor

    ex = ProcessPoolExecutor(max_workers=2)
    assert ex.submit(_square, 3).result() == 9
    HELD.append(ex)  # never shut down
    return hold


def pandas_sql(hold):
    import pandas as pd
    import sqlalchemy as sa

    df = pd.DataFrame({"a": range(10000), "b": [str(i) for i in range(10000)]})
    eng = sa.create_engine(f"sqlite:///{E('WORKDIR')}/p.db")
    df.to_sql("t", eng, if_exists="replace")
    assert len(pd.read_sql("select * from t", eng)) == 10000
    return hold


def apscheduler_nondaemon(hold):
    from apscheduler.schedulers.background import BackgroundScheduler

    s = BackgroundScheduler(daemon=False)
    s.add_job(lambda: None, "interval", seconds=0.2)
    s.start()  # never shut down
    return hold


def schedule_thread(hold):
    import schedule

    schedule.every(0.1).seconds.do(lambda: None)

    def loop():
        while True:
            schedule.run_pending()
            time.sleep(0.05)

    threading.Thread(target=loop, name="schedule-loop").start()  # non-daemon, never ends
    return hold


CASES = {
    f.__name__: f
    for f in [
        sentry_default,
        sentry_error,
        sentry_hang,
        tqdm_loop,
        requests_session,
        urllib3_pool,
        sqlalchemy_pg,
        sqlalchemy_sqlite,
        psycopg_conn,
        psycopg_pool,
        redis_pubsub_thread,
        redis_blpop,
        boto3_s3,
        grpc_channel,
        joblib_parallel,
        loky_reusable,
        loky_ppe,
        pandas_sql,
        apscheduler_nondaemon,
        schedule_thread,
    ]
}


class Params(BaseModel):
    case: str
    hold: bool = False


class Probe:
    def execute(self, params: Params) -> str:
        case = params.case
        if CASES[case](params.hold):
            log.info("probe.ready")
            time.sleep(600)
        return case


class Container(containers.DeclarativeContainer):
    probe = providers.Factory(Probe)
