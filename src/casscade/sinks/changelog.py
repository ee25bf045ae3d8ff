"""`changelog` mode: every change event appended once, instead of the table's final state.

A changelog table holds one row per event, keyed by the event's content identity
(`casscade.events.serde.event_id`), so the copies of one write that several replicas report,
and the events a restart replays, are stored once. Columns: the event id, its write time
(`written_at`, from the newest timestamp in the event), the operation, the primary key
columns (typed; clustering columns are null for partition-level events), whether it writes
static columns, the deletion, row liveness timestamp and TTL, the clustering range of a range
deletion (JSON), the cells (JSON: column, path, value, timestamp, TTL, expiry, tombstone, in
the forms of casscade/sinks/values.py), whole-collection deletions (JSON) and the position the
copy was read at. Pure.
"""

from __future__ import annotations

import datetime
import json

from casscade.events.model import ChangeEvent
from casscade.events.serde import event_id
from casscade.sinks.values import json_value

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

# The columns after the event id, the write time, the operation and the key columns.
EVENT_COLUMNS = (
    "is_static",
    "deletion_us",
    "row_timestamp_us",
    "row_ttl_s",
    "clustering_range",
    "cells",
    "collection_deletions",
    "position",
)


def written_at(event: ChangeEvent) -> datetime.datetime:
    """The event's write time as an aware UTC datetime (exact to the microsecond)."""
    return _EPOCH + datetime.timedelta(microseconds=event.timestamp_us)


def event_values(event: ChangeEvent) -> list[object]:
    """The values of EVENT_COLUMNS for one event (JSON columns as text)."""
    bounds = event.clustering_range
    deletions = event.collection_deletions
    cells = [
        {
            "column": c.column,
            "path": json_value(c.path),
            "value": json_value(c.value),
            "timestamp_us": c.timestamp_us,
            "ttl_s": c.ttl_s,
            "expires_at_s": c.expires_at_s,
            "tombstone": c.is_tombstone,
        }
        for c in event.cells
    ]
    return [
        event.is_static,
        event.deletion_us,
        event.row_timestamp_us,
        event.row_ttl_s,
        None if bounds is None else _text(json_value(
            {"start": list(bounds.start), "start_inclusive": bounds.start_inclusive,
             "end": list(bounds.end), "end_inclusive": bounds.end_inclusive})),
        _text(cells),
        _text([list(d) for d in deletions]) if deletions else None,
        "" if event.position is None else str(event.position),
    ]  # fmt: skip


def identity(event: ChangeEvent) -> str:
    """The event's content id: equal for every copy and replay of one write."""
    return event_id(event)


def _text(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
