"""The zoo's libraries: how each one is made, used and closed, the same code for every shape.

A job of the zoo app (``apps/zooapp.py``) and the plain-Python runner (``plain.py``) both run
these, so the only difference between the two is jobframe. Where they talk to comes from the
environment the test sets:

* ``ZOO_SINK`` — the test's HTTP sink for this run (``http://127.0.0.1:PORT/TOKEN``): OTLP,
  Sentry, Slack, S3 and plain GETs are counted per token;
* ``ZOO_TOKEN`` — that token (the Sentry project id, the Redis key, the SQL table's suffix);
* ``ZOO_REDIS`` — a Unix-socket URL of the test's own ``redis-server``;
* ``ZOO_PG`` — a PostgreSQL server of the test's own (``tests/resume/pg.py``);
* ``ZOO_GRPC`` — the test's gRPC echo server (``host:port``);
* ``ZOO_CLOSED`` — a loopback port that refuses connections (MongoDB, Elasticsearch, BigQuery, Kafka);
* ``ZOO_DIR`` — a temp dir of this run (SQLite).

Every timeout is short: a closed port costs at most a second, never a library's default minutes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["LIBS", "Lib", "env"]

SPANS = 3  # spans the OTel case starts, all left to the batch processor's flush


def env(name: str) -> str:
    return os.environ[f"ZOO_{name}"]


@dataclass(frozen=True)
class Lib:
    """One library: ``make`` builds the client, ``use`` does one unit of work, ``close`` ends it.

    ``use`` and ``close`` are coroutines for an ``asynchronous`` library (made inside the loop)."""

    name: str
    make: Callable[[], Any]
    use: Callable[[Any], Any]
    close: Callable[[Any], Any]
    asynchronous: bool = False


# -- Redis (a real redis-server) --------------------------------------------------------------------


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(env("REDIS"), socket_timeout=2, socket_connect_timeout=2)


def _redis_use(client: Any) -> None:
    client.set(f"zoo:{env('TOKEN')}", "written")


def _aredis() -> Any:
    import redis.asyncio

    return redis.asyncio.Redis.from_url(env("REDIS"), socket_timeout=2, socket_connect_timeout=2)


async def _aredis_use(client: Any) -> None:
    await client.set(f"zoo:{env('TOKEN')}", "written")


async def _aclose(client: Any) -> None:
    await client.aclose()


# -- SQLAlchemy ------------------------------------------------------------------------------------


def _sqlite() -> Any:
    import sqlalchemy

    return sqlalchemy.create_engine(f"sqlite:///{env('DIR')}/zoo.db")


def _postgres() -> Any:
    import sqlalchemy

    return sqlalchemy.create_engine(env("PG").replace("postgresql://", "postgresql+psycopg://", 1))


def _sql_use(engine: Any) -> None:
    import sqlalchemy

    table = f"zoo_{env('TOKEN')}"
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE TABLE {table} (note TEXT)"))
        conn.execute(sqlalchemy.text(f"INSERT INTO {table} VALUES ('written')"))


def _dispose(engine: Any) -> None:
    engine.dispose()


# -- HTTP clients --------------------------------------------------------------------------------------


def _requests() -> Any:
    import requests

    return requests.Session()


def _requests_use(session: Any) -> None:
    session.get(f"{env('SINK')}/ok", timeout=2).raise_for_status()


def _close(obj: Any) -> None:
    obj.close()


def _aiohttp() -> Any:
    import aiohttp

    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))


async def _aiohttp_use(session: Any) -> None:
    async with session.get(f"{env('SINK')}/ok") as response:
        response.raise_for_status()


async def _aiohttp_close(session: Any) -> None:
    await session.close()


def _slack() -> Any:
    from slack_sdk import WebClient

    return WebClient(token="xoxb-zoo", base_url=f"{env('SINK')}/api/", timeout=2)


def _slack_use(client: Any) -> None:
    client.chat_postMessage(channel="C1", text="zoo")


def _nothing(obj: Any) -> None:
    """slack_sdk's ``WebClient`` opens a connection per call (urllib) and has nothing to close."""


def _boto3() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env("SINK"),
        region_name="us-east-1",
        aws_access_key_id="zoo",
        aws_secret_access_key="zoo-secret",
        config=Config(
            s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=2, retries={"max_attempts": 1}
        ),
    )


def _boto3_use(client: Any) -> None:
    client.put_object(Bucket="zoo", Key="object", Body=b"written")


# -- gRPC ----------------------------------------------------------------------------------------------


def _grpc_channel() -> Any:
    import grpc

    return grpc.insecure_channel(env("GRPC"))


def _grpc_call(channel: Any) -> None:
    ping = channel.unary_unary("/zoo.Echo/Ping")
    assert ping(env("TOKEN").encode(), timeout=2) == env("TOKEN").encode()


def _grpc_server() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    import grpc

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    handler = grpc.method_handlers_generic_handler(
        "zoo.Echo", {"Ping": grpc.unary_unary_rpc_method_handler(lambda request, context: request)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.zoo_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server


def _grpc_server_use(server: Any) -> None:
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{server.zoo_port}") as channel:
        assert channel.unary_unary("/zoo.Echo/Ping")(b"x", timeout=2) == b"x"


def _grpc_server_stop(server: Any) -> None:
    server.stop(grace=1).wait(2)


# -- the standard library's pools ----------------------------------------------------------------------


def _executor() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=2)


def _executor_use(executor: Any) -> None:
    assert sorted(executor.map(abs, [-2, -1, 1])) == [1, 1, 2]


def _executor_shutdown(executor: Any) -> None:
    executor.shutdown(wait=True)


_RELEASE = threading.Event()  # never set: the busy executor's task waits until the process ends


def _busy_executor_use(executor: Any) -> None:
    executor.submit(_RELEASE.wait, 60)  # still running when the job returns


def _pool_of(method: str) -> Callable[[], Any]:
    def make() -> Any:
        import multiprocessing

        return multiprocessing.get_context(method).Pool(2)

    return make


def _pool_use(pool: Any) -> None:
    import multiprocessing
    import time

    assert pool.map(abs, [-3, -2, -1]) == [3, 2, 1]
    context = multiprocessing.get_context(pool._ctx.get_start_method())
    worker = context.Process(target=time.sleep, args=(60,))
    worker.start()
    worker.terminate()  # multiprocessing SIGTERMs its own child, as Pool's finalizer does
    worker.join(5)


def _pool_close(pool: Any) -> None:
    pool.close()
    pool.join()


# -- telemetry: flushed at exit ------------------------------------------------------------------------


def _otel() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{env('SINK')}/v1/traces", timeout=2)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    return provider


def _otel_use(provider: Any) -> None:
    tracer = provider.get_tracer("zoo")
    for index in range(SPANS):
        with tracer.start_as_current_span(f"work-{index}"):
            pass  # ended spans wait in the batch processor for its (60 s) schedule or the exit


def _shutdown(obj: Any) -> None:
    obj.shutdown()


def _sentry() -> Any:
    import sentry_sdk
    from sentry_sdk.integrations.atexit import AtexitIntegration

    host = env("SINK").split("/")[2]
    sentry_sdk.init(
        dsn=f"http://zoo@{host}/{env('TOKEN')}",
        default_integrations=False,
        integrations=[AtexitIntegration()],  # sentry's own flush at exit, as with its defaults
        shutdown_timeout=2,
    )
    return sentry_sdk.get_client()


def _sentry_use(client: Any) -> None:
    import sentry_sdk

    sentry_sdk.capture_message("zoo")  # queued for the transport's background worker


def _sentry_close(client: Any) -> None:
    client.close(timeout=2)


# -- APScheduler -----------------------------------------------------------------------------------------


def _scheduler() -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()
    scheduler.start()
    return scheduler


def _scheduler_use(scheduler: Any) -> None:
    scheduler.add_job(lambda: None, "interval", seconds=30)


def _scheduler_shutdown(scheduler: Any) -> None:
    scheduler.shutdown(wait=True)


# -- closed ports: no server here ------------------------------------------------------------------------


def _closed_url(scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{env('CLOSED')}"


def _mongo() -> Any:
    import pymongo

    return pymongo.MongoClient(
        _closed_url("mongodb"), serverSelectionTimeoutMS=500, connectTimeoutMS=500, socketTimeoutMS=500
    )


def _mongo_use(client: Any) -> None:
    import pymongo.errors

    with contextlib.suppress(pymongo.errors.ServerSelectionTimeoutError):
        client.admin.command("ping")


def _elastic() -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(_closed_url(), request_timeout=1, max_retries=0, retry_on_timeout=False)


def _elastic_use(client: Any) -> None:
    import elasticsearch

    with contextlib.suppress(elasticsearch.ConnectionError):
        client.info()


def _bigquery() -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(
        project="zoo",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=_closed_url()),
    )


def _bigquery_use(client: Any) -> None:
    import requests
    from google.api_core.exceptions import RetryError
    from google.cloud import bigquery

    with contextlib.suppress(requests.ConnectionError, RetryError):
        list(client.list_datasets(timeout=1, retry=bigquery.DEFAULT_RETRY.with_timeout(1)))


def _confluent() -> Any:
    from confluent_kafka import Producer

    return Producer(
        {"bootstrap.servers": f"127.0.0.1:{env('CLOSED')}", "message.timeout.ms": 1000, "log_level": 3}
    )


def _confluent_use(producer: Any) -> None:
    producer.produce("zoo", b"undeliverable")
    producer.poll(0)


def _confluent_close(producer: Any) -> None:
    producer.flush(1)
    producer.close()


def _confluent_stuck() -> Any:
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": f"127.0.0.1:{env('CLOSED')}", "message.timeout.ms": 60_000})


def _confluent_close_unbounded(producer: Any) -> None:
    producer.close()  # flushes in C until the message times out (60 s): longer than any budget


def _kafka_python() -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=f"127.0.0.1:{env('CLOSED')}",
        api_version=(2, 5),  # no version probe of a server that is not there
        max_block_ms=500,
        request_timeout_ms=1000,
    )


def _kafka_python_use(producer: Any) -> None:
    from kafka.errors import KafkaTimeoutError

    with contextlib.suppress(KafkaTimeoutError):
        producer.send("zoo", b"undeliverable")


def _kafka_python_close(producer: Any) -> None:
    producer.close(timeout=1)


LIBS: dict[str, Lib] = {
    lib.name: lib
    for lib in [
        Lib("redis", _redis, _redis_use, _close),
        Lib("redis-async", _aredis, _aredis_use, _aclose, asynchronous=True),
        Lib("sqlalchemy-sqlite", _sqlite, _sql_use, _dispose),
        Lib("sqlalchemy-postgres", _postgres, _sql_use, _dispose),
        Lib("requests", _requests, _requests_use, _close),
        Lib("aiohttp", _aiohttp, _aiohttp_use, _aiohttp_close, asynchronous=True),
        Lib("slack-sdk", _slack, _slack_use, _nothing),
        Lib("boto3", _boto3, _boto3_use, _close),
        Lib("grpc-channel", _grpc_channel, _grpc_call, _close),
        Lib("grpc-server", _grpc_server, _grpc_server_use, _grpc_server_stop),
        Lib("thread-pool", _executor, _executor_use, _executor_shutdown),
        Lib("thread-pool-busy", _executor, _busy_executor_use, _executor_shutdown),
        Lib("multiprocessing", _pool_of("fork"), _pool_use, _pool_close),  # Linux's default (3.11)
        Lib("multiprocessing-forkserver", _pool_of("forkserver"), _pool_use, _pool_close),
        Lib("multiprocessing-spawn", _pool_of("spawn"), _pool_use, _pool_close),
        Lib("opentelemetry", _otel, _otel_use, _shutdown),
        Lib("sentry-sdk", _sentry, _sentry_use, _sentry_close),
        Lib("apscheduler", _scheduler, _scheduler_use, _scheduler_shutdown),
        Lib("pymongo", _mongo, _mongo_use, _close),
        Lib("elasticsearch", _elastic, _elastic_use, _close),
        Lib("bigquery", _bigquery, _bigquery_use, _close),
        Lib("confluent-kafka", _confluent, _confluent_use, _confluent_close),
        Lib("confluent-kafka-stuck", _confluent_stuck, _confluent_use, _confluent_close_unbounded),
        Lib("kafka-python", _kafka_python, _kafka_python_use, _kafka_python_close),
    ]
}
