"""Results written to a file people open: JSON (a list) or CSV (one row each), by the file's suffix."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


def write_records(records: list[dict[str, Any]], out: Path) -> None:
    """JSON when out ends in .json, else CSV with every record's columns (lists and dicts as JSON)."""
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    columns = list(dict.fromkeys(name for record in records for name in record))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for record in records:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v for k, v in record.items()})
