"""The safety net calls close()/aclose() on anything, shutdown()/stop()/dispose() only on the known
types of its table — never ``redis.Redis.shutdown()``, which shuts the server down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jobframe._teardown.safety_net import KNOWN, find_unmanaged, known_of


def _fake(qualified: str, **methods: Any) -> Any:
    """An instance of a class that says it is ``qualified`` (module.Class), with ``methods``."""
    module, _, name = qualified.rpartition(".")
    cls = type(name, (), {**methods, "__module__": module})
    cls.__qualname__ = name
    return cls()


def _found(obj: Any) -> list[Any]:
    return list(find_unmanaged([("client", obj)], []))


def test_a_redis_client_is_closed_and_its_shutdown_never_called() -> None:
    calls: list[str] = []
    obj = _fake("redis.client.Redis", close=lambda self: calls.append("close"),
                shutdown=lambda self: calls.append("SERVER SHUTDOWN"))  # fmt: skip
    (item,) = _found(obj)
    assert item.method == "close" and item.close is not None
    item.close()
    assert calls == ["close"]


def test_an_unknown_object_with_only_shutdown_stop_or_dispose_is_named_not_called() -> None:
    calls: list[str] = []
    obj = _fake("somelib.Thing", shutdown=lambda self: calls.append("shutdown"),
                stop=lambda self: calls.append("stop"))  # fmt: skip
    (item,) = _found(obj)
    assert item.close is None and item.method == "shutdown/stop"
    assert calls == []


def test_a_known_type_is_ended_with_its_table_method() -> None:
    executor = ThreadPoolExecutor(1)
    executor.submit(int).result()
    (item,) = _found(executor)
    assert item.method == "shutdown" and item.close is not None
    item.close()
    assert executor._shutdown  # type: ignore[attr-defined]


def test_subclasses_of_a_known_type_are_known_and_grpc_stop_gets_its_grace() -> None:
    calls: list[Any] = []
    server = _fake("grpc._server._Server", stop=lambda self, grace: calls.append(grace))
    sub = type("MyServer", (type(server),), {})()
    (item,) = _found(sub)
    assert item.method == "stop" and item.close is not None
    item.close()
    assert calls == [None]


def test_a_scheduler_never_started_is_left_alone() -> None:
    scheduler = _fake("apscheduler.schedulers.base.BaseScheduler", running=False, shutdown=lambda self: None)
    assert _found(scheduler) == []
    scheduler.running = True
    assert [item.method for item in _found(scheduler)] == ["shutdown"]


def test_the_table_is_by_qualified_name_and_says_why() -> None:
    assert all("." in name and known.note for name, known in KNOWN.items())
    assert known_of(object()) is None
    assert known_of(_fake("sqlite3.Connection", close=lambda self: None)).same_thread  # type: ignore[union-attr]


def test_a_value_whose_resource_shut_it_down_is_not_named_again() -> None:
    obj = _fake("somelib.Pool", dispose=lambda self: None)
    assert list(find_unmanaged([], [("pool", obj)])) == []  # only what a Singleton holds is named
