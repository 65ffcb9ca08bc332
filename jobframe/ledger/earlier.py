"""Earlier runs of the same input under another key: a resubmitted workflow, a resubmitted fan-out.

A new key is a new run — unless an unfinished run under another key already sent the same call
over the same input (``jobframe.ledger.ledger`` refuses it, 78), or another run over the same
whole input, cut in shards another way or not at all, is unfinished: a fan-out with a shard
unfinished, or a whole run (:mod:`jobframe.ledger.fanout`). Both checks
look for the runs that sent a call over an input with one piece of SQL, and run one at a time
per input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from jobframe.ledger.store import Store

__all__ = ["FanoutCall", "earlier_run", "other_fanout"]


class FanoutCall(NamedTuple):
    """One bulk call of a run, as the fan-out check looks for another run of its whole input."""

    key: str
    job: str
    number: int
    endpoint: str
    fanout: str
    """The call's whole input, however it is cut (a shard's index and count left out)."""
    fanout_before: str | None = None
    """What an earlier version recorded as the same call's fan-out (a shard's, its count kept)."""
    fanout_name: str | None = None
    """The fan-out the run is a shard of (its siblings never refuse it); ``None``: a whole run."""


_HELD = "CASE WHEN r.owner IS NOT NULL AND r.lease_expires > {now} THEN 1 ELSE 0 END"
"""Whether run ``r``'s lease is held (an attempt is running under its key)."""


def _sent_the_call(where: str) -> str:
    """Runs ``r`` under other keys whose call (stream ``?``, endpoint ``?``; not key ``?``; job ``?``)
    read the input ``where`` names and reached someone, or that are sending it now (a live lease:
    they may not have recorded a batch yet): key, objects reached, live, batches, last change, and
    the fan-out the run said it is a shard of (``""``: a whole run; ``NULL``: recorded before)."""
    return (
        f"SELECT r.run_key, COALESCE(SUM(b.size), 0) AS reached, MAX({_HELD}) AS live,"  # noqa: S608 - no input
        " COUNT(b.batch) AS sent, r.updated_at, MAX(s.fanout_name) AS fanout_name"
        " FROM jobframe_ledger_streams s"
        " JOIN jobframe_ledger_runs r ON r.run_key = s.run_key"
        " LEFT JOIN jobframe_ledger_batches b ON b.run_key = s.run_key AND b.stream = s.stream"
        " AND b.state IN ('delivered', 'started')"
        f" WHERE s.stream = ? AND s.endpoint = ? AND s.run_key <> ? AND r.job = ? AND {where}"
        f" GROUP BY r.run_key, r.updated_at HAVING COUNT(b.batch) > 0 OR MAX({_HELD}) = 1"
    )


_FANOUT = "rtrim({key}, '0123456789')"
"""The fan-out a shard's key ``<fan-out>-<digits>`` names, with its ``-``: the key without its digits."""
_NAMES_A_FANOUT = (
    f"substr({_FANOUT}, length({_FANOUT}), 1) = '-'"
    f" AND length({_FANOUT}) > 1 AND length({_FANOUT}) < length({{key}})"
)
"""Whether ``key`` names a fan-out: a ``-`` before digits, with something before it."""


def earlier_run(
    store: Store,
    key: str,
    job: str,
    run_fingerprint: str,
    *,
    number: int,
    endpoint: str,
    fingerprint: str,
    input_fingerprint: str | None = None,
) -> tuple[str, int, bool, int] | None:
    """An unfinished run under another key that sent call ``number`` of the same job, parameters
    and input (a resubmitted workflow), or is sending it now (a live lease: it may not have
    recorded its first batch yet); with how many objects it reached, whether it is live, and
    how many batches it sent (a send to an audience is one that reached no listed object).

    The same input is the same call fingerprint, or the same ``input_fingerprint`` (the input
    without its batch sizes): the same file cut in batches of another size reaches the same
    users."""
    same_input = input_fingerprint or fingerprint
    _one_check_at_a_time(store, same_input)
    row = store.execute(
        _sent_the_call("(s.fingerprint = ? OR s.input_fingerprint = ?) AND r.fingerprint = ?"
                       " AND r.status = 'open'")
        + " ORDER BY r.updated_at DESC LIMIT 1",
        number, endpoint, key, job, fingerprint, same_input, run_fingerprint,
    ).fetchone()  # fmt: skip
    return None if row is None else (str(row[0]), int(row[1] or 0), bool(row[2]), int(row[3] or 0))


def other_fanout(store: Store, call: FanoutCall) -> list[tuple[str, int, bool, int, str, bool, bool]]:
    """Of the runs under other keys whose ``call`` read the same whole input (``fanout``:
    its fingerprint however it is cut — by a shard of any count, or not at all) and reached someone
    or are sending it now, the most recent one with a run unfinished (open, or registered and
    never started; never the call's ``key`` itself): its fan-out's unfinished shards — or the run itself,
    when it is a whole run. A finished fan-out or run is passed over for the next.

    One row per unfinished run: the run that sent the call — key, objects, live, batches, as
    :func:`earlier_run` — then the unfinished run's key, whether it is live, and whether the
    sender is a fan-out's shard. A sender is a shard of the fan-out its run recorded
    (``fanout_name``; ``""``: a whole run, matched by its key alone, however the key ends);
    before that was recorded, of the one its key names, ``<fan-out>-<digits>``. The fan-out's
    shards are the runs whose keys name it (registered ones have recorded nothing) and that did
    not record this call over another input; the call's own fan-out (``fanout_name``) is passed
    over. Empty when none is unfinished. ``fanout_before`` is found too: a fan-out an earlier
    version left unfinished."""
    _one_check_at_a_time(store, call.fanout)
    # the fan-out a sender is a shard of, with its "-", as its run recorded it; before that was
    # recorded (NULL), as its key names one; NULL for a whole run (its key is matched whole)
    group = (
        "CASE WHEN c.fanout_name IS NULL THEN"
        f" (CASE WHEN {_NAMES_A_FANOUT.format(key='c.run_key')} THEN {_FANOUT.format(key='c.run_key')} END)"
        " WHEN c.fanout_name = '' THEN NULL ELSE c.fanout_name || '-' END"
    )
    member_names = _NAMES_A_FANOUT.format(key="r.run_key")
    sibling = "" if call.fanout_name is None else f"{call.fanout_name}-"  # "": no fan-out's name is empty
    same = call.fanout_before or call.fanout
    rows = store.execute(
        f"WITH calls AS ({_sent_the_call('s.fanout IN (?, ?)')}),"  # noqa: S608 - no input
        f" senders AS (SELECT c.*, {group} AS grp FROM calls c),"
        " members AS (SELECT c.run_key AS sender, c.reached, c.live, c.sent, c.updated_at,"
        f" r.run_key, {_HELD} AS held, CASE WHEN c.grp IS NULL THEN 0 ELSE 1 END AS sharded"
        " FROM senders c JOIN jobframe_ledger_runs r"
        f" ON (c.grp IS NOT NULL AND ({member_names}) AND {_FANOUT.format(key='r.run_key')} = c.grp)"
        " OR (c.grp IS NULL AND r.run_key = c.run_key)"
        " WHERE (c.grp IS NULL OR c.grp <> ?) AND r.run_key <> ? AND r.status IN ('open', 'registered')"
        # a run that recorded this call over another input is no shard of this fan-out, whatever its key
        " AND NOT EXISTS (SELECT 1 FROM jobframe_ledger_streams m WHERE m.run_key = r.run_key"
        " AND m.stream = ? AND m.fanout IS NOT NULL AND m.fanout NOT IN (?, ?)))"
        " SELECT sender, reached, live, sent, run_key, held, sharded FROM members"
        " WHERE sender = (SELECT sender FROM members ORDER BY updated_at DESC, sender LIMIT 1)",
        call.number, call.endpoint, call.key, call.job, call.fanout, same,
        sibling, call.key, call.number, call.fanout, same,
    ).fetchall()  # fmt: skip
    return [
        (str(r[0]), int(r[1] or 0), bool(r[2]), int(r[3] or 0), str(r[4]), bool(r[5]), bool(r[6]))
        for r in rows
    ]


def _one_check_at_a_time(store: Store, same_input: str) -> None:
    """Two new runs of one input, checking for an earlier run of it, check one after the other
    (PostgreSQL: a transaction-scoped lock; SQLite's write lock already serialises them)."""
    if store.dialect.name == "postgres":
        store.execute("SELECT pg_advisory_xact_lock(hashtext(?))", same_input)
