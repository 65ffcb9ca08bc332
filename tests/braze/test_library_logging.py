"""The Braze client used as a library, in a plain script: it prints nothing unless logging is set up."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO, clean_env

SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys
    if sys.argv[1] == "stdlib":
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeSettings
    from jobframe.braze.fake import FakeBraze

    fake = FakeBraze()
    fake.fail_next("/users/track", status=429, rate_limit_headers=False)  # a warning-level event too
    settings = BrazeSettings(base_url="fake://braze", retry={"backoff_base": 0.01})
    with BrazeClient.from_settings(settings, transport=fake.transport()) as client:
        client.track_users(attributes=({"external_id": f"u{i}"} for i in range(20_000)))

    async def run():
        async with AsyncBrazeClient.from_settings(settings) as client:
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
    assert "braze.fake_in_use" in done.stderr
