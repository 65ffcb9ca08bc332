"""What sharding costs a shard: reading the whole input and keeping its part, vs reading it.

Every shard reads the whole file and keeps the objects whose stable key it owns (CRC-32 of the
key, mod COUNT). This measures, side by side in one run, reading a file of external ids (one per
line, as ``SendPushFromFile`` does) with and without ``Shard.select``, alternating the two so
machine noise hits both alike, and prints the ratio of medians. The cost is then set against
what sending the shard's part takes at Braze's rate limit (``/messages/send``: 250,000 requests
an hour, 50 recipients each, shared by all shards).

    python benchmarks/shard_select.py [--ids 1000000] [--shards 4] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from jobframe.shard import Shard

SEND_RATE = 250_000 * 50 / 3600  # recipients per second for the whole workspace


def read_ids(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            external_id = line.strip()
            if external_id and not external_id.startswith("#"):
                yield external_id


def timed(run: Iterator[str]) -> tuple[float, int]:
    start = time.perf_counter()
    n = sum(1 for _ in run)
    return time.perf_counter() - start, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.txt"
        path.write_text("".join(f"user-{i:09d}\n" for i in range(args.ids)))
        plain: list[float] = []
        sharded: list[float] = []
        kept = 0
        for _ in range(args.runs):
            seconds, _n = timed(read_ids(path))
            plain.append(seconds)
            seconds, kept = timed(iter(Shard(0, args.shards).select(read_ids(path))))
            sharded.append(seconds)
    read_s, select_s = statistics.median(plain), statistics.median(sharded)
    send_s = kept / SEND_RATE
    share = kept / args.ids
    print(f"{args.ids:,} ids, shard 0/{args.shards} keeps {kept:,} ({share:.1%}); {args.runs} runs each")
    print(f"  read the file:                 {read_s:6.2f} s  ({args.ids / read_s / 1e6:.2f} M ids/s)")
    print(f"  read and select the shard:     {select_s:6.2f} s  ({args.ids / select_s / 1e6:.2f} M ids/s)")
    print(f"  ratio select / read:           {select_s / read_s:6.2f}x")
    print(f"  sending the shard's part at the workspace's /messages/send limit: {send_s:,.0f} s")
    print(f"  selection as a share of that:  {(select_s - read_s) / send_s:.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
