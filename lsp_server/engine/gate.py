"""The model folder's parity gate status: was the folder checked against its source model, and did it pass?

The exporter writes the report (``parity.json``, the file the manifest's ``parity_report`` names); the
engine only reads its ``status``: "passed", "failed", or "pending" (exported for a GPU on a machine
without a usable one, not checked yet).  Reports written before ``status`` existed are read from
their ``passed`` flag.  A folder without a report, or with one that cannot be read, says so too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .manifest import Manifest

PASSED, FAILED, PENDING = "passed", "failed", "pending"
STATUSES = (PASSED, FAILED, PENDING)  # what a report may say
MISSING, UNREADABLE = "missing", "unreadable"  # what a reader may find instead of a report


@dataclass(frozen=True)
class GateStatus:
    folder: Path
    report: str  # the report's file name, from the manifest
    status: str  # one of STATUSES, MISSING or UNREADABLE
    kind: str = "parity"  # "parity": against transformers; "consistency": the graph against itself
    detail: str = ""  # why an unreadable report could not be read

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def path(self) -> Path:
        return self.folder / self.report


def status_of(data: object) -> str:
    """The status a parsed report states (UNREADABLE when it states none)."""
    if not isinstance(data, dict):
        return UNREADABLE
    status = data.get("status")
    if status is None and isinstance(data.get("passed"), bool):
        return PASSED if data["passed"] else FAILED
    return status if status in STATUSES else UNREADABLE


def read_status(folder: Path, manifest: Manifest) -> GateStatus:
    """The gate status of a model folder, from its parity report; never raises for a bad report."""
    folder = Path(folder)
    found = GateStatus(folder, manifest.parity_report, MISSING)
    if not found.path.is_file():
        return found
    try:
        data = json.loads(found.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return replace(found, status=UNREADABLE, detail=str(exc))
    status = status_of(data)
    if status == UNREADABLE:
        return replace(found, status=UNREADABLE, detail="it states no known status")
    return replace(found, status=status, kind=str(data.get("kind", "parity")))
