"""Change events as JSON, and their content identity.

`event_to_json` is the form dead letters, `casscade` tooling and the changelog tables use.
`event_id` digests everything but the position, so replica copies and replays of one write
share an id. Pure.
"""

from __future__ import annotations

import hashlib
import json

from casscade.commitlog.render import to_json_value
from casscade.events.model import CellChange, ChangeEvent


def _cell_json(cell: CellChange) -> dict[str, object]:
    return {
        "column": cell.column,
        "path": to_json_value(cell.path),
        "value": to_json_value(cell.value),
        "timestamp_us": cell.timestamp_us,
        "ttl_s": cell.ttl_s,
        "expires_at_s": cell.expires_at_s,
        "tombstone": cell.is_tombstone,
    }


def identity_json(event: ChangeEvent) -> dict[str, object]:
    """The event's content as JSON, without where it was read."""
    bounds = event.clustering_range
    return {
        "keyspace": event.keyspace,
        "table": event.table,
        "op": event.op.value,
        "partition_key": to_json_value(event.partition_key),
        "clustering": to_json_value(event.clustering),
        "static": event.is_static,
        "timestamp_us": event.timestamp_us,
        "deletion_us": event.deletion_us,
        "row_timestamp_us": event.row_timestamp_us,
        "row_ttl_s": event.row_ttl_s,
        "row_expires_at_s": event.row_expires_at_s,
        "cells": [_cell_json(c) for c in event.cells],
        "collection_deletions": [list(d) for d in event.collection_deletions],
        "range": None if bounds is None else to_json_value(bounds),
    }


def event_to_json(event: ChangeEvent) -> dict[str, object]:
    """The event as JSON: its content, its id and where it was read."""
    return {
        "event_id": event_id(event),
        **identity_json(event),
        "position": None if event.position is None else str(event.position),
    }


def event_id(event: ChangeEvent) -> str:
    """A 128-bit hex digest of the event's content (equal for replica copies and replays)."""
    text = json.dumps(identity_json(event), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
