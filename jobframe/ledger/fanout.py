"""A resubmitted fan-out: its shards are judged by the fan-out they belong to, not one by one.

``argo resubmit`` of a fan-out one of whose shards failed makes a new workflow: new run keys for
every shard, the ones that finished too. A finished shard closed its run, and a closed run does not
stop a new one (the same file sent again tomorrow is a new run) — so, judged alone, the new shard
would send again to every user the first fan-out's shard reached. Judged by its fan-out, it is
refused while the first fan-out is unfinished: a shard of it open or never started.

Fan-outs are told apart by their run keys, ``<fan-out>-<shard index>``, as ``jobframe-argo
render`` (``{{workflow.uid}}-N``) and ``ledger register --shards`` name them. A shard's call
records the fingerprint of the fan-out's input (:func:`jobframe.ledger.fingerprint.fingerprints_of_inputs`:
the shard's index left out), which finds the other fan-outs over the same input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobframe.ledger.earlier import FanoutCall
    from jobframe.ledger.store import Store

__all__ = ["OtherFanout", "fanout_of_key", "find_other", "refusal", "so_far"]


def fanout_of_key(key: str, shard: int | None) -> str | None:
    """The fan-out a shard's run key names: ``uid`` for ``uid-3`` of shard 3; ``None`` for a
    whole run, or a key that does not end in its own shard's index (its siblings cannot be told
    from another fan-out's shards: only its own earlier shard is looked for, as for a whole run)."""
    suffix = f"-{shard}"
    if shard is None or not key.endswith(suffix) or len(key) == len(suffix):
        return None
    return key[: -len(suffix)]


@dataclass(frozen=True)
class OtherFanout:
    """Another fan-out over the same input that reached someone and did not finish."""

    name: str
    reached_by: str
    """The shard's key that reached the most objects."""
    reached: int
    sent: int
    """Batches that shard sent (a send to an audience reaches no listed object)."""
    unfinished: list[str]
    """Its shards' keys that are open (or were registered and never started)."""
    live: bool


def find_other(store: Store, call: FanoutCall) -> OtherFanout | None:
    """Another run (not a shard of the call's own fan-out) whose ``call`` read the same whole
    input, cut in any number of shards or none, or is reading it now, and which did not finish: a
    fan-out with a shard unfinished, or a whole run (then ``name`` and ``reached_by`` are its
    key); ``None`` if there is none (:func:`jobframe.ledger.earlier.other_fanout`)."""
    from jobframe.ledger.earlier import other_fanout  # noqa: PLC0415 - loaded with the store, by open

    rows = other_fanout(store, call)
    if not rows:
        return None
    sender, reached, live, sent = rows[0][:4]
    unfinished = sorted(row[4] for row in rows)
    name = sender.rpartition("-")[0] if rows[0][6] else sender
    return OtherFanout(name, sender, reached, sent, unfinished, live or any(row[5] for row in rows))


def so_far(reached: int, sent: int) -> str:
    """What an earlier run did, for a refusal: the users it reached — or, when it reached no listed
    user but sent, the requests it made to an audience Braze resolves (which reach the most)."""
    if reached or not sent:
        return f"reaching {reached} user{'' if reached == 1 else 's'} so far"
    return f"having sent {sent} request{'' if sent == 1 else 's'} to a segment, an audience or everyone"


def refusal(key: str, endpoint: str, other: OtherFanout) -> str:
    """One line: which fan-out, what it reached, how to continue it, and the opt-out."""
    reached = f"its run key {other.reached_by!r} {so_far(other.reached, other.sent)}"
    state = "is sending it right now" if other.live else "did not finish (a resubmitted workflow?)"
    shards = ", ".join(other.unfinished)
    return (
        f"run key {key!r}: the fan-out {other.name!r} already sent this job's {endpoint} call over the "
        f"same input and message and {state}, {reached} (its unfinished shards: {shards}); a shard of "
        f"a new fan-out would send again to the users that fan-out's shards reached: continue it "
        f"(`argo retry` its workflow, or --run-key for each unfinished shard); to send to those users "
        "again as well, pass --new-run"
    )
