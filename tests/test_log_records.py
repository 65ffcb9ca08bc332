"""A handler the job adds itself reads records with their secrets masked (``_log_records``)."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobframe._log_records import MaskedRecords
from jobframe.logs import MASK, Redact
from tests.conftest import CANARY, run_cli

SECRET = "s3cr3t-value-42"


class _Url:
    """An argument whose text holds the secret (as ``httpx.URL`` with a key in its query)."""

    def __str__(self) -> str:
        return f"https://api.example/x?key={SECRET}"


@pytest.fixture
def factory() -> Iterator[MaskedRecords]:
    previous = logging.getLogRecordFactory()
    redact = Redact()
    redact.add_secrets([SECRET])
    MaskedRecords.install(redact)
    installed = logging.getLogRecordFactory()
    assert isinstance(installed, MaskedRecords)
    try:
        yield installed
    finally:
        logging.setLogRecordFactory(previous)


def _record(msg: object, args: object, exc_info: object = None) -> logging.LogRecord:
    """A record as a logger makes it (through the factory), without creating a logger."""
    return logging.getLogRecordFactory()("tests.log_records", logging.INFO, __file__, 1, msg, args, exc_info)


def _printed(*args: object, exc: bool = False) -> str:
    """What a plain formatter prints of a record made with ``args`` (a handler the job adds)."""
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"failed with {SECRET}")
        except RuntimeError as error:
            exc_info = (type(error), error, error.__traceback__)
    record = _record(args[0], args[1:] or None, exc_info)
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize(
    "args",
    [
        (f"token {SECRET}",),
        ("token %s", SECRET),
        ("calling %s", _Url()),
        ("%(url)s", {"url": f"https://x/?k={SECRET}"}),
        ({"event": "request", "headers": {"Authorization": "Bearer abc"}, "url": f"/x?{SECRET}"},),
        ("items %s", [SECRET, "b"]),
    ],
    ids=["message", "str-arg", "object-arg", "mapping-args", "structlog-event", "list-arg"],
)
def test_what_a_plain_formatter_prints_holds_no_secret(
    factory: MaskedRecords, args: tuple[object, ...]
) -> None:
    printed = _printed(*args)
    assert SECRET not in printed and "Bearer abc" not in printed
    assert MASK in printed


def test_an_exceptions_text_is_masked_once_formatted(factory: MaskedRecords) -> None:
    printed = _printed("it broke", exc=True)
    assert SECRET not in printed
    assert f"RuntimeError: failed with {MASK}" in printed


def test_arguments_without_secrets_are_left_as_they_are(factory: MaskedRecords) -> None:
    url = _Url()
    record = _record("%d %s %r", (3, "a", None))
    assert record.args == (3, "a", None)
    factory.redact = Redact()  # no secret known yet: an object keeps its type
    record = _record("%s", (url,))
    assert record.args is not None and record.args[0] is url  # type: ignore[index]


def test_installing_again_changes_only_the_redactor(factory: MaskedRecords) -> None:
    other = Redact()
    MaskedRecords.install(other)
    assert logging.getLogRecordFactory() is factory
    assert factory.redact is other


JOB = '''
import logging
import os

import jobframe
from dependency_injector import containers, providers
from acme_jobs import AcmeSettings


class OwnHandler:
    """Adds a handler of its own, as a job may (a file, an error tracker), and logs the key."""

    def __init__(self, settings: AcmeSettings) -> None:
        self.settings = settings

    def execute(self) -> None:
        token = self.settings.api_token.get_secret_value()
        handler = logging.FileHandler(os.environ["OWN_LOG"])
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
        logging.getLogger().addHandler(handler)
        library = logging.getLogger("acme.lib")
        library.info("calling with token %s", token)
        library.info("calling %s", type("Url", (), {"__str__": lambda self: "https://x/?key=" + token})())
        try:
            raise RuntimeError("failed with " + token)
        except RuntimeError:
            library.exception("it broke")
        jobframe.get_logger("acme").info("request", headers={"Authorization": "Bearer " + token})


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AcmeSettings)
    own_handler = providers.Factory(OwnHandler, settings=settings)
'''


@pytest.mark.process
def test_a_handler_the_job_adds_itself_never_gets_the_secret(ext_app: Path, tmp_path: Path) -> None:
    (ext_app / "acme_jobs" / "own.py").write_text(textwrap.dedent(JOB))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "api_token").write_text(CANARY)
    own_log = tmp_path / "own.log"
    ran = run_cli(
        ["--app", "acme_jobs.own:Container", "--job-name", "OwnHandler", "--secrets-dir", str(secrets)],
        cwd=ext_app,
        env={"OWN_LOG": str(own_log)},
    )
    assert ran.code == 0, ran.stderr
    written = own_log.read_text()
    assert CANARY not in written, written
    # every line reached it, masked: the library's three, the job's event; and jobframe's own
    assert written.count(MASK) >= 4, written
    assert "acme.lib calling with token ***" in written
    assert "RuntimeError: failed with ***" in written
    assert "job.finished" in written
    # and jobframe's own output is what it always was: one traceback, masked, in the JSON line
    broke = [e for e in ran.events if e.get("event") == "it broke"]
    assert len(broke) == 1 and "***" in str(broke[0]), broke


class _Unprintable:
    """An argument whose ``str()`` raises: the standard library reports it at format time, in the
    handler (``handleError``), never from the logging call itself."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_a_message_that_is_an_object_is_masked_too(factory: MaskedRecords) -> None:
    # ``log.error(exc)``, ``log.warning(response)``: the message is the object, printed as its text
    printed = logging.Formatter("%(message)s").format(_record(ValueError(f"token {SECRET} refused"), None))
    assert SECRET not in printed
    assert f"token {MASK} refused" in printed


def test_an_argument_without_text_never_makes_the_logging_call_raise(factory: MaskedRecords) -> None:
    unprintable = _Unprintable()
    record = _record("value %s", (unprintable,))
    assert record.args == (unprintable,)  # left for the handler to report, as without the factory
    record = _record(unprintable, None)
    assert record.msg is unprintable


def test_a_tuple_argument_without_a_secret_keeps_its_type(factory: MaskedRecords) -> None:
    record = _record("pair %s", ((1, 2),))
    assert logging.Formatter("%(message)s").format(record) == "pair (1, 2)"
