"""Record commit-log fixtures from a real Cassandra 5.0 node into tests/fixtures/commitlog/.

For each scenario (tools/scenarios): start a fresh node in a temporary home (batch commit-log
sync, 1 MiB segments, the requested commit-log version and compression), run the scenario's
CQL, read the schema, stop the node with SIGTERM (so the last segment's `_cdc.idx` says
COMPLETED), then copy the CDC segments (those with a `_cdc.idx`) into

    <out>/<cassandra version>-v<7|8>[-<codec>]/<scenario>/

trimmed after their end-of-data marker, with `schema.json`, `expected.jsonl` (derived from
the scenario, never from a decoder) and `MANIFEST`. See tools/README.md.

    python tools/capture_fixture.py --scenario all --format v7 --compression none
    python tools/capture_fixture.py --verify --scenario all --format v7

The node uses its own ports (9242/7200/7399) so it never meets the project's dev stack
(9042/7000/7199) or the tests' node (9142/7100/7299). One node at a time, always stopped.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python tools/capture_fixture.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casscade.commitlog.cdc_index import parse_cdc_index
from casscade.commitlog.descriptor import SegmentDescriptor, decode_descriptor
from casscade.commitlog.schema import SchemaRows, rows_to_json
from casscade.source.cdc_raw import CdcSegment, scan_cdc_raw
from casscade.source.schema import read_schema_rows
from casscade.stack import process
from casscade.stack.cassandra import CassandraNode
from casscade.stack.config import CassandraSettings, CommitlogCompression, CompatibilityMode
from tools.scenarios import SCENARIOS, RenderedScenario, Scenario, render, scenario_by_name

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "fixtures" / "commitlog"
CODECS: dict[str, CommitlogCompression] = {
    "none": "none",
    "lz4": "LZ4Compressor",
    "snappy": "SnappyCompressor",
    "deflate": "DeflateCompressor",
    "zstd": "ZstdCompressor",
}
FORMATS: dict[str, CompatibilityMode] = {"v7": "CASSANDRA_4", "v8": "NONE"}
# Clear of the dev stack (9042/7000/7199) and of the tests' node (9142/7100/7299).
NATIVE_PORT, STORAGE_PORT, JMX_PORT = 9242, 7200, 7399
# The capture machine has 2 cores and other JVMs; 768 MiB is plenty for a few hundred writes.
HEAP_MIB = 768
SEGMENT_SIZE_MIB = 1
_MARKER = struct.Struct(">iI")
_U32 = struct.Struct(">I")
# A fixture directory above this size gets a warning: fixtures are kept small on purpose.
SIZE_WARNING_BYTES = 200 * 1024


class CaptureError(RuntimeError):
    """The capture cannot produce a trustworthy fixture."""


def say(message: str) -> None:
    """Print one progress line (the tool's only output channel)."""
    print(message, flush=True)  # noqa: T201 - a command-line tool reports progress


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """What one run records: commit-log format, compression and where fixtures go."""

    fmt: str
    codec: str
    out: Path
    cache_dir: Path
    keep_home: bool = False

    def settings(self) -> CassandraSettings:
        """The node's settings for this run."""
        return CassandraSettings(
            native_port=NATIVE_PORT,
            storage_port=STORAGE_PORT,
            jmx_port=JMX_PORT,
            heap_mib=HEAP_MIB,
            commitlog_sync="batch",
            commitlog_segment_size_mib=SEGMENT_SIZE_MIB,
            storage_compatibility_mode=FORMATS[self.fmt],
            commitlog_compression=CODECS[self.codec],
        )

    def group_dir(self, cassandra_version: str) -> Path:
        """`<out>/<version>-v7[-codec]`."""
        suffix = "" if self.codec == "none" else f"-{self.codec}"
        return self.out / f"{cassandra_version}-{self.fmt}{suffix}"


@dataclass(frozen=True, slots=True)
class NodeRun:
    """What the live node told us before it was stopped."""

    release_version: str
    schema: SchemaRows


# ---------------------------------------------------------------------------- capture


def capture(rendered: RenderedScenario, config: CaptureConfig) -> Path:
    """Run one scenario on a fresh node and write its fixture directory.

    Returns:
        The fixture directory.
    """
    name = rendered.scenario.name
    home = Path(tempfile.mkdtemp(prefix=f"casscade-capture-{name}-"))
    node = CassandraNode(config.settings(), home, config.cache_dir)
    try:
        started = time.monotonic()
        try:
            wait_for_free_ports(config.settings())
            node.up()
            say(f"  node up in {time.monotonic() - started:.1f} s ({home})")
            run = run_script(node, rendered)
        finally:
            stopping = time.monotonic()
            node.down()
            say(f"  node stopped in {time.monotonic() - stopping:.1f} s")
        segments = [s for s in scan_cdc_raw(node.layout.cdc_raw_dir) if s.index is not None]
        target = config.group_dir(run.release_version) / name
        write_fixture(target, rendered, run, segments, config)
        return target
    finally:
        if config.keep_home:
            say(f"  kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def wait_for_free_ports(settings: CassandraSettings, timeout_s: float = 60.0) -> None:
    """Wait until nothing answers on the node's ports (a previous node may linger briefly).

    Raises:
        CaptureError: a port stays taken: another process owns it; it is not ours to stop.
    """
    ports = (settings.native_port, settings.storage_port, settings.jmx_port)

    def free() -> bool:
        return not any(process.is_port_open(settings.host, port) for port in ports)

    if not process.wait_until(free, timeout_s=timeout_s):
        raise CaptureError(f"ports {ports} still in use after {timeout_s:.0f} s")


def run_script(node: CassandraNode, rendered: RenderedScenario) -> NodeRun:
    """Execute the scenario's CQL in order, check LWT outcomes, read version and schema."""
    with node.cluster() as cluster:
        session = cluster.connect()
        for step in rendered.script:
            result = session.execute(step.cql)
            if step.expect_applied is not None and result.was_applied != step.expect_applied:
                raise CaptureError(
                    f"LWT applied={result.was_applied}, expected otherwise: {step.cql}"
                )
        row = session.execute("SELECT release_version FROM system.local").one()
        schema = read_schema_rows(session)
    say(f"  ran {len(rendered.script)} statements")
    # The whole system_schema, system keyspaces included: with it a decoder can tell entries
    # of keyspaces without CDC (skipped) from entries of tables it does not know (an error).
    return NodeRun(str(row.release_version), schema)


# ---------------------------------------------------------------------------- segments


def marker_crc(segment_id: int, offset: int) -> int:
    """CRC32 of a sync marker: id low half, id high half, marker offset (format ref 5.1)."""
    crc = zlib.crc32(_U32.pack(segment_id & 0xFFFFFFFF))
    crc = zlib.crc32(_U32.pack((segment_id >> 32) & 0xFFFFFFFF), crc)
    return zlib.crc32(_U32.pack(offset), crc)


def plain_data_end(data: bytes, descriptor: SegmentDescriptor) -> int:
    """Length to keep of an uncompressed segment: up to and including the zero marker.

    Walks the sync-marker chain (format reference 5.3) from the header; everything after
    the zero end marker must be preallocated zeros.

    Raises:
        CaptureError: a corrupt marker, or data after the end marker.
    """
    pos = descriptor.header_length
    while pos + _MARKER.size <= len(data):
        nxt, crc = _MARKER.unpack_from(data, pos)
        if crc != marker_crc(descriptor.segment_id, pos):
            if nxt != 0 or crc != 0:
                raise CaptureError(f"segment {descriptor.segment_id}: bad marker at {pos}")
            end = pos + _MARKER.size
            if data[end:].count(0) != len(data) - end:
                raise CaptureError(f"segment {descriptor.segment_id}: bytes after end marker")
            return end
        if not pos < nxt <= len(data):
            raise CaptureError(f"segment {descriptor.segment_id}: marker at {pos} -> {nxt}")
        pos = nxt
    return len(data)


def copy_segment(segment: CdcSegment, target: Path, config: CaptureConfig) -> dict[str, Any]:
    """Copy one CDC segment (trimmed if uncompressed) and its `_cdc.idx`; describe them."""
    if segment.index is None or not segment.index.completed:
        raise CaptureError(f"{segment.path.name}: _cdc.idx does not say COMPLETED")
    data = segment.path.read_bytes()
    descriptor = decode_descriptor(data, segment_id=segment.segment_id)
    expected_class = None if config.codec == "none" else CODECS[config.codec]
    if descriptor.compression_class != expected_class:
        raise CaptureError(f"{segment.path.name}: compression {descriptor.compression_class}")
    if descriptor.version != int(config.fmt[1:]):
        raise CaptureError(f"{segment.path.name}: commit-log version {descriptor.version}")
    kept = data
    if descriptor.compression_class is None:
        kept = data[: plain_data_end(data, descriptor)]
        if segment.index.durable_offset > len(kept):
            raise CaptureError(f"{segment.path.name}: idx offset beyond the end of data")
    (target / segment.path.name).write_bytes(kept)
    idx_text = segment.index_path.read_text(encoding="ascii")
    (target / segment.index_path.name).write_text(idx_text, encoding="ascii")
    return {
        "file": segment.path.name,
        "segment_id": segment.segment_id,
        "descriptor_parameters": descriptor.parameters,
        "original_size": len(data),
        "kept_size": len(kept),
        "cdc_idx": idx_text,
    }


# ---------------------------------------------------------------------------- fixture


def write_fixture(
    target: Path,
    rendered: RenderedScenario,
    run: NodeRun,
    segments: Sequence[CdcSegment],
    config: CaptureConfig,
) -> None:
    """Replace `target` with the fixture: segments, schema, expected facts, MANIFEST."""
    if not segments:
        raise CaptureError("no segment in cdc_raw has a _cdc.idx (no CDC data?)")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    described = [copy_segment(s, target, config) for s in segments]
    (target / "schema.json").write_text(rows_to_json(run.schema) + "\n", encoding="utf-8")
    lines = [json.dumps(f.to_json(), ensure_ascii=False) for f in rendered.facts]
    (target / "expected.jsonl").write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    manifest = manifest_for(rendered, run, described, config)
    manifest["files"] = file_digests(target)
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    (target / "MANIFEST").write_text(text, encoding="utf-8")
    size = sum(p.stat().st_size for p in target.iterdir())
    shown = target.relative_to(REPO) if target.is_relative_to(REPO) else target
    counts = f"{len(described)} segment(s), {len(rendered.facts)} facts"
    say(f"  wrote {shown}: {counts}, {size / 1024:.0f} KiB")
    if size > SIZE_WARNING_BYTES:
        say(f"  WARNING: {size} bytes is more than {SIZE_WARNING_BYTES}")


def manifest_for(
    rendered: RenderedScenario,
    run: NodeRun,
    segments: list[dict[str, Any]],
    config: CaptureConfig,
) -> dict[str, Any]:
    """The MANIFEST document (without the file digests)."""
    scenario = rendered.scenario
    settings = config.settings()
    return {
        "scenario": scenario.name,
        "summary": scenario.summary,
        "cassandra_version": run.release_version,
        "commitlog_version": settings.commitlog_version,
        "storage_compatibility_mode": settings.storage_compatibility_mode,
        "compression": settings.commitlog_compression,
        "commitlog_sync": settings.commitlog_sync,
        "commitlog_segment_size_mib": settings.commitlog_segment_size_mib,
        "captured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": "tools/capture_fixture.py",
        "keyspace": scenario.keyspace,
        "cdc_tables": list(rendered.cdc_tables),
        "other_tables": list(rendered.other_tables),
        "statements": [step.cql for step in rendered.script],
        "segments": segments,
    }


def file_digests(directory: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file in `directory` except MANIFEST."""
    return {
        path.name: {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "size": path.stat().st_size,
        }
        for path in sorted(directory.iterdir())
        if path.name != "MANIFEST"
    }


# ---------------------------------------------------------------------------- verify


def verify_fixture(directory: Path) -> list[str]:
    """Check a recorded fixture directory; return the problems found (empty = fine).

    Checks: MANIFEST digests and sizes; at least one segment; every segment's `_cdc.idx`
    says COMPLETED; descriptor version and compression match the MANIFEST; uncompressed
    segments end right after their zero end marker.
    """
    manifest = json.loads((directory / "MANIFEST").read_text(encoding="utf-8"))
    problems = [
        f"{name}: digest or size differs"
        for name, meta in manifest["files"].items()
        if not (directory / name).exists()
        or hashlib.sha256((directory / name).read_bytes()).hexdigest() != meta["sha256"]
        or (directory / name).stat().st_size != meta["size"]
    ]
    segments = scan_cdc_raw(directory)
    if not segments:
        problems.append("no segment")
    for segment in segments:
        problems += _verify_segment(segment, manifest)
    return problems


def _verify_segment(segment: CdcSegment, manifest: dict[str, Any]) -> list[str]:
    name = segment.path.name
    index = parse_cdc_index(segment.index_path.read_text(encoding="ascii"))
    if index is None or not index.completed:
        return [f"{name}: _cdc.idx is not COMPLETED"]
    data = segment.path.read_bytes()
    descriptor = decode_descriptor(data, segment_id=segment.segment_id)
    problems = []
    if descriptor.version != manifest["commitlog_version"]:
        problems.append(f"{name}: version {descriptor.version}")
    compression = descriptor.compression_class or "none"
    if compression != manifest["compression"]:
        problems.append(f"{name}: compression {compression}")
    if descriptor.compression_class is None and plain_data_end(data, descriptor) != len(data):
        problems.append(f"{name}: not trimmed after its end marker")
    if index.durable_offset < descriptor.header_length:
        problems.append(f"{name}: idx offset {index.durable_offset} inside the header")
    return problems


# ---------------------------------------------------------------------------- CLI


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scenario", default="all", help="a name, a comma list, or all")
    parser.add_argument("--format", dest="fmt", choices=sorted(FORMATS), default="v7")
    parser.add_argument("--compression", choices=list(CODECS), default="none")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "casscade")
    parser.add_argument("--cassandra-version", default=CassandraSettings().version)
    parser.add_argument("--keep-home", action="store_true", help="keep the node's temp home")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--verify", action="store_true", help="check recorded fixtures only")
    mode.add_argument("--print", dest="show", action="store_true", help="print CQL and facts")
    return parser.parse_args(argv)


def selected(spec: str) -> list[Scenario]:
    """The scenarios named by `--scenario`."""
    if spec == "all":
        return list(SCENARIOS)
    return [scenario_by_name(name.strip()) for name in spec.split(",") if name.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; returns the process exit code."""
    args = parse_args(argv)
    config = CaptureConfig(args.fmt, args.compression, args.out, args.cache_dir, args.keep_home)
    scenarios = selected(args.scenario)
    if args.show:
        for scenario in scenarios:
            _show(render(scenario))
        return 0
    if args.verify:
        return _verify_all(scenarios, config.group_dir(args.cassandra_version))
    started = time.monotonic()
    for number, scenario in enumerate(scenarios, start=1):
        say(f"[{number}/{len(scenarios)}] {scenario.name} ({args.fmt}, {args.compression})")
        capture(render(scenario), config)
    say(f"done: {len(scenarios)} scenario(s) in {time.monotonic() - started:.0f} s")
    return 0


def _show(rendered: RenderedScenario) -> None:
    say(f"-- {rendered.scenario.name}: {rendered.scenario.summary}")
    for step in rendered.script:
        note = "" if step.expect_applied is None else f"  -- [applied] = {step.expect_applied}"
        say(f"{step.cql};{note}")
    for fact in rendered.facts:
        say(json.dumps(fact.to_json(), ensure_ascii=False))


def _verify_all(scenarios: Sequence[Scenario], group: Path) -> int:
    failed = 0
    for scenario in scenarios:
        directory = group / scenario.name
        if not directory.is_dir():
            say(f"{directory}: missing")
            failed += 1
            continue
        problems = verify_fixture(directory)
        size = sum(p.stat().st_size for p in directory.iterdir())
        say(f"{directory}: {'OK' if not problems else 'FAILED'} ({size / 1024:.0f} KiB)")
        for problem in problems:
            say(f"  {problem}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
