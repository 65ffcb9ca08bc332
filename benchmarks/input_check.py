"""What checking an input file before sending costs: the counting pass of ``UpdateUserAttributes``.

Side by side in one run, interleaved, medians over ``--rounds``: the pass that only counted
lines (before ``jobframe.inputs``), the pass that reads and checks every object now
(``json_objects``), and one parse of every line as the sending pass makes it (the cost the check
is measured against: the check roughly doubles the file's parse, never the network's time).

    PYTHONPATH=. python benchmarks/input_check.py --objects 200000 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jobframe.inputs import csv_rows, json_objects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "users.jsonl"
        rows = [{"external_id": f"u{i}", "tier": i % 3, "city": "Paris"} for i in range(args.objects)]
        jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
        csv = Path(tmp) / "users.csv"
        csv.write_text(
            "external_id,tier,city\n" + "".join(f"u{i},{i % 3},Paris\n" for i in range(args.objects))
        )

        def count_lines() -> int:
            with jsonl.open("rb") as handle:
                return sum(1 for line in handle if line.strip())

        def parse_lines() -> int:
            with jsonl.open(encoding="utf-8") as handle:
                return sum(1 for line in handle if line.strip() and json.loads(line) is not None)

        passes: dict[str, Callable[[], int]] = {
            "count lines (before)": count_lines,
            "json.loads per line (the sending pass)": parse_lines,
            "json_objects (the check, now)": lambda: sum(1 for _ in json_objects(jsonl)),
            "csv_rows (the check, CSV)": lambda: sum(1 for _ in csv_rows(csv, keys=["external_id"])),
        }
        times: dict[str, list[float]] = {name: [] for name in passes}
        for round_ in range(args.rounds):
            order = list(passes.items())
            for name, run in order[round_ % len(order) :] + order[: round_ % len(order)]:
                started = time.perf_counter()
                assert run() == args.objects
                times[name].append(time.perf_counter() - started)
    base = statistics.median(times["json.loads per line (the sending pass)"])
    for name, found in times.items():
        median = statistics.median(found)
        per = median / args.objects * 1e6
        print(f"{name:42} {median:7.3f} s  {per:5.2f} us/object  {median / base:5.2f}x the sending parse")


if __name__ == "__main__":
    main()
