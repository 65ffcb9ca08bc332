"""An input that raises while a bulk call is being sent: the batches taken before it went out, none
after, and the error carries the delivery report — for both clients, and a ``UsageError`` (a line
of an input file that became malformed) keeps its exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobframe import ExitCode
from jobframe.braze import BrazeInputError
from jobframe.braze.fake import FakeBrazeServer
from jobframe.inputs import InputError

from .test_delivery import run_track

BROKEN_AT = 500  # objects before the input fails: 6 full batches of 75 (450) and 50 of the 7th


def failing(error: Exception) -> Iterator[dict[str, Any]]:
    for i in range(BROKEN_AT):
        yield {"external_id": f"u{i}"}
    raise error


@pytest.mark.parametrize("client_kind", ["sync", "async"])
@pytest.mark.parametrize(
    ("cause", "code"),
    [(RuntimeError("disk gone"), ExitCode.FAILED), (InputError("in.jsonl", 501, "not JSON"), ExitCode.USAGE)],
    ids=["runtime-error", "input-error"],
)
def test_an_input_failing_mid_call_ends_it_with_the_delivery_report(
    server: FakeBrazeServer, client_kind: str, cause: Exception, code: ExitCode
) -> None:
    error = run_track(client_kind, server.url, failing(cause), read=2.0)

    assert isinstance(error, BrazeInputError) and error.__cause__ is cause
    assert error.exit_code is code
    assert str(cause) in str(error) and "nothing more was sent" in str(error)
    sent = [a["external_id"] for r in server.app.requests_to("/users/track") for a in r.json["attributes"]]
    report = error.delivery
    assert report is not None and report.unknown == [] and report.failed == []
    # Six batches were taken; those on the wire were answered (delivered), the rest never went.
    delivered = {i for a, b in report.delivered for i in range(a, b + 1)}
    never_sent = {b.index for b in report.never_sent}
    assert delivered | never_sent == set(range(6)) and not delivered & never_sent
    assert sorted(sent) == sorted(f"u{i}" for b in delivered for i in range(75 * b, 75 * b + 75))
    assert report.delivered_items == len(sent) == error.partial_result.attributes_processed
    assert report.rest_from is not None and report.rest_from.index == 6
    assert report.rest_items is None  # a generator cannot say how much was left
    assert error.log_fields()["delivery"]["delivered"]["items"] == len(sent)
