"""The wiring check on shapes of providers: what a declaration says a provider provides, and
the almost-right wirings a run would trip over (in-process; nothing is called)."""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import httpx
import pytest
from dependency_injector import containers, providers, resources
from dependency_injector.wiring import Provide, inject
from pydantic import BaseModel, SecretStr

import jobframe
from jobframe._app import App
from jobframe._app.check import check_container
from jobframe._app.provided import provided_type
from jobframe.context import RunContext
from jobframe.http import HttpSettings, NetworkModule


class Service:
    pass


class SubService(Service):
    pass


class Other:
    pass


def gen_service() -> Iterator[Service]:
    yield Service()


async def agen_service() -> AsyncIterator[SubService]:
    yield SubService()


@contextlib.contextmanager
def cm_service() -> Iterator[Service]:
    yield Service()


class ServiceResource(resources.Resource):  # type: ignore[type-arg]
    def init(self) -> Other:
        return Other()


class EntersOther:
    def __enter__(self) -> Other:
        return Other()

    def __exit__(self, *exc: object) -> None:
        pass


class EntersUnknown:
    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def unannotated():  # type: ignore[no-untyped-def]
    return Service()


def either() -> Service | Other:
    return Service()


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (providers.Factory(Service), Service),
        (providers.Singleton(SubService), SubService),
        (providers.Resource(gen_service), Service),
        (providers.Resource(agen_service), SubService),
        (providers.Resource(cm_service), Service),
        (providers.Resource(ServiceResource), Other),
        (providers.Resource(httpx.Client), httpx.Client),
        (providers.Resource(httpx.AsyncClient), httpx.AsyncClient),
        (providers.Resource(EntersOther), Other),
        (providers.Resource(EntersUnknown), None),
        (providers.Callable(gen_service), collections.abc.Iterator),  # the generator, not its items
        (providers.Dependency(instance_of=Service), Service),
        (providers.Dependency(), None),
        (providers.Object(Service()), Service),  # declared in the app: its class is known
        (providers.Object("/tmp"), None),  # a builtin value: a literal, as if passed directly
        (providers.Object(None), None),
        (providers.List(providers.Factory(Service)), list),
        (providers.Dict(a=providers.Factory(Service)), dict),
        (providers.Factory(unannotated), None),
        (providers.Factory(either), None),  # a union: one of two, unknown which
        (providers.Resource(either), None),
    ],
)
def test_what_a_declaration_says_a_provider_provides(provider: Any, expected: type | None) -> None:
    assert provided_type(provider) is expected


def test_an_overridden_provider_provides_what_the_override_is() -> None:
    factory = providers.Factory(Service)
    factory.override(providers.Object(Other()))
    assert provided_type(factory) is None


class Duck(Protocol):
    def quack(self) -> None: ...


class Needs:
    def __init__(self, service: Service, maybe: Service | None = None, duck: Duck | None = None) -> None:
        self.service = service

    def execute(self) -> None:
        pass


class NeedsToo(Needs):
    pass


M = Service.__module__


class AnyThing:
    def __init__(self, service: Any, other: object) -> None:
        self.service = service

    def execute(self) -> None:
        pass


class Loose:
    def __init__(self, service: Service, **extra: Any) -> None:
        self.service = service

    def execute(self) -> None:
        pass


@dataclasses.dataclass
class Section:
    url: str = "x"


class Sub(BaseModel):
    section: Section = Section()
    http: HttpSettings = HttpSettings(base_url=None)


class AppSettings(jobframe.Settings):
    sub: Sub = Sub()


def problems(settings: AppSettings | None = None, **wiring: Any) -> list[str]:
    attrs = {
        "settings": wiring.pop("settings_provider", providers.Dependency(instance_of=AppSettings)),
        "run": providers.Dependency(instance_of=RunContext),
        **wiring,
    }
    container_cls = type("C", (containers.DeclarativeContainer,), attrs)
    app = App.from_container(container_cls)
    container = container_cls()
    app.fill(container, settings or AppSettings(), RunContext(job="t", run_id="t"))
    return [p for found in check_container(app, container).values() for p in found]


def test_subclasses_optionals_and_unknowns_are_accepted() -> None:
    assert problems(job=providers.Factory(Needs, service=providers.Factory(SubService))) == []
    assert problems(job=providers.Factory(Needs, service=providers.Resource(gen_service), maybe=None)) == []
    duck = providers.Factory(Other)
    assert problems(job=providers.Factory(Needs, service=providers.Factory(Service), duck=duck)) == []
    assert problems(job=providers.Factory(Needs, providers.Factory(Service))) == []  # positional
    assert problems(job=providers.Factory(Loose, service=providers.Factory(Service), anything=1)) == []
    anything = providers.Factory(AnyThing, service=providers.Factory(Other), other=providers.Factory(Other))
    assert problems(job=anything) == []


def test_a_wrong_type_is_found_by_keyword_position_and_in_an_optional() -> None:
    (wrong,) = problems(job=providers.Factory(Needs, service=providers.Factory(Other)))
    assert f"(service: {M}.Service) is given job.service" in wrong
    assert wrong.endswith(f"which provides {M}.Other")
    (positional,) = problems(job=providers.Factory(Needs, providers.Resource(ServiceResource)))
    assert f"which provides {M}.Other" in positional
    (optional,) = problems(
        job=providers.Factory(Needs, service=providers.Factory(Service), maybe=providers.Factory(Other))
    )
    assert f"maybe: {M}.Service" in optional


def test_settings_chains_are_walked_step_by_step_through_models_and_dataclasses() -> None:
    settings = providers.Dependency(instance_of=AppSettings)
    found = problems(
        settings_provider=settings,
        a=providers.Factory(
            NeedsToo, service=providers.Factory(Service), maybe=settings.provided.sub.sectoin
        ),
        job=providers.Factory(
            Needs, service=providers.Factory(Service), maybe=settings.provided.sub.section.uri
        ),
    )
    assert found == [
        "settings.provided.sub.sectoin: Sub has no field 'sectoin' (did you mean 'section'?); "
        "its fields: http, section",
        "settings.provided.sub.section.uri: Section has no field 'uri' (did you mean 'url'?); "
        "its fields: url",
    ]
    assert problems(
        settings_provider=settings,
        job=providers.Factory(
            Needs, service=providers.Factory(Service), maybe=settings.provided.sub.section.url
        ),
    ) == [f"job: Needs(maybe: {M}.Service) is given job.maybe, which provides str"]


def test_a_network_module_reached_by_a_job_needs_a_base_url_unless_it_is_none() -> None:
    settings = providers.Dependency(instance_of=AppSettings)
    network = providers.Container(NetworkModule, settings=settings.provided.sub.http)

    class UsesHttp:
        def __init__(self, http: httpx.Client) -> None:
            self.http = http

        def execute(self) -> None:
            pass

    assert (
        problems(
            settings_provider=settings, network=network, job=providers.Factory(UsesHttp, http=network.client)
        )
        == []
    )
    found = problems(
        AppSettings(sub=Sub(http=HttpSettings())),
        settings_provider=settings,
        network=network,
        job=providers.Factory(UsesHttp, http=network.client),
    )
    assert found == [
        "settings sub.http.base_url: is empty, and a job is wired to a client built from it: give it an "
        "http(s) URL, or null if every request names an absolute URL (variable SUB__HTTP__BASE_URL)"
    ]


@pytest.mark.parametrize("value", ["127.0.0.1:1", "ftp://x", "http://", "localhost:80", "//host"])
def test_a_base_url_must_be_http_with_a_host(value: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        HttpSettings(base_url=value)


@pytest.mark.parametrize("value", ["http://a", "https://a.b:8443/v1/", "http://[::1]:80", None, ""])
def test_usable_base_urls_and_the_explicit_none(value: str | None) -> None:
    assert HttpSettings(base_url=value).base_url == value


def test_an_int_setting_fits_a_float_parameter_and_a_secret_does_not_fit_text() -> None:
    class Numbers(BaseModel):
        count: int = 1
        key: SecretStr = SecretStr("k")

    class NumbersSettings(jobframe.Settings):
        numbers: Numbers = Numbers()

    class Takes:
        def __init__(self, ratio: float, key: str) -> None:
            self.ratio = ratio

        def execute(self) -> None:
            pass

    settings = providers.Dependency(instance_of=NumbersSettings)
    container_cls = type(
        "C",
        (containers.DeclarativeContainer,),
        {
            "settings": settings,
            "job": providers.Factory(
                Takes, ratio=settings.provided.numbers.count, key=settings.provided.numbers.key
            ),
        },
    )
    app = App.from_container(container_cls)
    container = container_cls()
    app.fill(container, NumbersSettings(), RunContext(job="t", run_id="t"))
    (found,) = check_container(app, container)["Takes"]
    assert found.endswith("(key: str) is given job.key, which provides pydantic.types.SecretStr")


class _Plain:
    """No constructor of its own."""


class _WithInit:
    def __init__(self, a: int, *, b: str = "") -> None: ...


class _WithNew:
    def __new__(cls, a: int) -> _WithNew:
        return super().__new__(cls)


class _Called(type):
    def __call__(cls, x: int) -> Any: ...


class _Meta(metaclass=_Called):
    pass


class _TextSignature:
    """_TextSignature(a, b)
    --

    A class whose docstring gives a signature."""


class _FromPlain(_Plain):
    pass


class _FromInit(_WithInit):
    pass


@pytest.mark.parametrize(
    "target",
    [_Plain, _FromPlain, _WithInit, _FromInit, _WithNew, _Meta, _TextSignature, Exception, dict, int],
)
def test_a_signature_is_what_inspect_gives(target: Any) -> None:
    """The shortcut for classes taking nothing (startup cost) answers exactly what inspect does."""
    from jobframe._app.check import _signature  # noqa: PLC0415

    try:
        expected: inspect.Signature | None = inspect.signature(target)
    except (TypeError, ValueError):
        expected = None
    assert _signature(target) == expected


@inject
def injected_gen_service(other: Other = Provide["other"]) -> Iterator[Service]:
    yield Service()


def test_a_generator_under_inject_is_a_resource_dependency_injector_cannot_enter() -> None:
    """dependency-injector's ``@inject`` wraps a generator function in a plain function, so a
    ``Resource`` of it never enters it (it takes the generator object for a coroutine): a sync
    job fails on "an async resource" after it started, an async one gets a task, not a Service."""
    resource = providers.Resource(injected_gen_service)
    assert not inspect.isgeneratorfunction(resource.provides)  # not made a context manager
    found = problems(job=providers.Factory(Needs, service=resource))
    hidden = [p for p in found if "injected_gen_service is a generator function under @inject" in p]
    assert len(hidden) == 1, found
    assert "providers.Resource(injected_gen_service, " in hidden[0]
    assert [p for p in found if p not in hidden] == [  # its marker too: this container wires nothing
        "job.service: injected_gen_service(other): Provide['other'] names no provider of C"
    ]
    plain = problems(job=providers.Factory(Needs, service=providers.Resource(gen_service)))
    assert plain == []
