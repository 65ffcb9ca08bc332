"""What a resumed run does with each batch the ledger knows: pure decisions, mutation-tested.

A batch the last attempt recorded as *delivered* is skipped. One it recorded as *started* but
never confirmed is **ambiguous**: Braze may or may not have applied it. Repeating an idempotent
request is harmless — an attribute update sets the same values again, an export reads again — so
those are re-sent. Repeating a send, a campaign or Canvas trigger, or a ``/users/track`` batch that
logs events or purchases would reach a user twice, so those are not re-sent unless the run asks
for it explicitly: at most once, and listed so nobody has to guess.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BatchState",
    "Decision",
    "Unrecorded",
    "adds_to_a_value",
    "decide",
    "is_idempotent",
    "records_start",
    "unrecorded",
    "updates_relatively",
]


class BatchState(enum.Enum):
    STARTED = "started"
    """Recorded before its request was sent; no answer recorded since."""
    DELIVERED = "delivered"
    """Answered 2xx: applied."""
    FAILED = "failed"
    """Answered with an error that means nothing was applied (400, 401, 429, connection refused)."""


class Decision(enum.Enum):
    SEND = "send"
    """Never sent, or known not applied: send it."""
    SKIP_DELIVERED = "skip_delivered"
    """Applied by an earlier attempt."""
    SKIP_AMBIGUOUS = "skip_ambiguous"
    """Maybe applied; repeating could reach a user twice: not sent, reported."""
    RESEND_AMBIGUOUS = "resend_ambiguous"
    """Maybe applied, and repeating is harmless (or explicitly allowed): sent again."""


_READS = frozenset({"/users/export/ids"})
_TRACK = "/users/track"
_SIDE_EFFECTS = frozenset({"events", "purchases"})
_RELATIVE = frozenset({"inc", "add", "remove", "$add", "$remove", "$update"})
"""Attribute values that change what is there instead of setting it (``{"inc": 1}``, ``{"add": [...]}``)."""


def updates_relatively(body: Mapping[str, Any] | None) -> bool:
    """Whether a ``/users/track`` body's attributes increment or edit a value: applied twice, twice."""
    return any(adds_to_a_value(obj) for obj in (body or {}).get("attributes") or ())


def adds_to_a_value(obj: Any) -> bool:
    """Whether one attribute object increments or edits a value (``{"inc": 1}``, ``{"add": [...]}``)."""
    if isinstance(obj, Mapping):
        for value in obj.values():
            if isinstance(value, Mapping) and _RELATIVE & value.keys():
                return True
    return False


def is_idempotent(endpoint: str, arrays: Iterable[str], body: Mapping[str, Any] | None = None) -> bool:
    """Whether repeating this request cannot change what users see: a read, or a
    ``/users/track`` batch that only sets attributes (no increment, no array edit)."""
    if endpoint in _READS:
        return True
    return endpoint == _TRACK and not (_SIDE_EFFECTS & set(arrays)) and not updates_relatively(body)


def records_start(endpoint: str, arrays: Iterable[str], body: Mapping[str, Any] | None = None) -> bool:
    """Whether a batch must be recorded as *started* before its request is sent.

    A batch that may not be repeated must: killed right after sending, it would otherwise leave no
    trace, and a resume would send it again. An idempotent one need not — a resume that finds no
    record sends it again, which is harmless — so it costs one record (*delivered*) and no wait.
    """
    return not is_idempotent(endpoint, arrays, body)


def decide(
    state: BatchState | None,
    endpoint: str,
    arrays: Iterable[str],
    *,
    resend_ambiguous: bool,
    body: Mapping[str, Any] | None = None,
) -> Decision:
    """What to do with a batch of ``endpoint`` holding ``arrays``, given its recorded ``state``."""
    if state is BatchState.DELIVERED:
        return Decision.SKIP_DELIVERED
    if state is BatchState.STARTED:
        if resend_ambiguous or is_idempotent(endpoint, arrays, body):
            return Decision.RESEND_AMBIGUOUS
        return Decision.SKIP_AMBIGUOUS
    return Decision.SEND


class Unrecorded(enum.Enum):
    """What an attempt does when the store holds no record of its run key."""

    START = enum.auto()
    """A first attempt of a new run (or ``--fresh-run``): start it."""
    START_SAYING_SO = enum.auto()
    """A retry whose earlier attempts never reached this store, which is in use (it holds other
    runs, so it was not emptied): they sent nothing; start the run, and log it."""
    REFUSE_LOST = enum.auto()
    """A retry, and the store looks new or emptied: the earlier attempts' ledger may be lost."""
    REFUSE_REGISTERED = enum.auto()
    """The key was registered before any attempt of the step could send (``--registered``), and
    the store has no record of it: this is not the store the workflow began with."""


def unrecorded(*, retry: int, registered: bool, fresh: bool, store_in_use: bool) -> Unrecorded:
    """What attempt ``retry`` of a run does when the store holds no record of its key.

    ``registered``: the workflow recorded the key before any attempt ran, so its absence means
    the ledger was lost or is another one — whatever the retry number (``argo retry`` restarts a
    failed step at 0) and whatever else the store holds. Without it only a retry can tell, and
    only when the store looks new or emptied (``store_in_use`` false). ``fresh``: the operator
    knows nothing was sent.
    """
    if fresh:
        return Unrecorded.START
    if registered:
        return Unrecorded.REFUSE_REGISTERED
    if retry <= 0:
        return Unrecorded.START
    return Unrecorded.START_SAYING_SO if store_in_use else Unrecorded.REFUSE_LOST
