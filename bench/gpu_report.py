"""The "gpu" section of bench/results/RESULTS.md from the GPU check's JSON (the first run, then its repeats).

python -m bench.gpu_report RESULTS_JSON [REPEAT_JSON ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.lib.gpu_report import render
from bench.lib.paths import RESULTS
from bench.lib.sections import write_section


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    reports = [json.loads(Path(a).read_text()) for a in args]
    target = RESULTS / "RESULTS.md"
    write_section(target, "gpu", render(reports[0], reports[1:]))
    print(f"wrote the gpu section of {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
