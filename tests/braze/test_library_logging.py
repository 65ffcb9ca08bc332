"""The Braze client used as a library, in a plain script: it prints nothing unless logging is set up."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO, clean_env

pytestmark = pytest.mark.process  # every test here starts jobframe as a process

SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys
    if sys.argv[1] == "stdlib":
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeSettings
    from jobframe.braze.fake import FakeBrazeServer

    with FakeBrazeServer(api_key="k") as server:  # a real socket, like Braze
        server.app.fail_next("/users/track", status=429, rate_limit_headers=False)  # an info event
        settings = BrazeSettings(base_url=server.url, api_key="k", retry={"backoff_base": 0.01})
        with BrazeClient.from_settings(settings) as client:
            client.track_users(attributes=({"external_id": f"u{i}"} for i in range(20_000)))
            server.app.fail_next("/users/track", status=500)  # and a warning one
            try:
                client.track_users(attributes=[{"external_id": "x"}])
            except Exception:
                pass

    async def run():
        offline = BrazeSettings(base_url="fake://braze")
        async with AsyncBrazeClient.from_settings(offline) as client:
            await client.send_message({"apple_push": {"alert": "x"}}, external_user_ids=["a", "b"])

    asyncio.run(run())
    """
)


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_a_plain_script_prints_nothing() -> None:
    done = _run("plain")
    assert (done.stdout, done.stderr) == ("", "")


def test_a_script_that_configures_stdlib_logging_sees_the_events() -> None:
    done = _run("stdlib")
    assert done.stdout == ""
    assert "braze.request" in done.stderr and "braze.rate_limited" in done.stderr
    assert "braze.duplicate_possible" in done.stderr
    assert "braze.fake_in_use" in done.stderr
