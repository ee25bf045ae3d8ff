"""StatusBoard: throughput window, history ring buffer, states, readiness and liveness."""

from __future__ import annotations

import itertools
import threading

import pytest

from casscade.commitlog.position import Position
from casscade.observability._window import RateWindow
from casscade.observability.batch import BatchSummary
from casscade.observability.board import BoardTiming, StatusBoard
from casscade.observability.kinds import DestinationState, ErrorKind
from tests.unit.observability._support import T0, FakeClock, event


def batch(n: int, *, written_s: float, table: str = "ks.t") -> BatchSummary:
    return BatchSummary.of([event(table, written_s=written_s, key=i) for i in range(n)])


@pytest.fixture
def board(clock: FakeClock) -> StatusBoard:
    timing = BoardTiming(window_s=10, history_s=60, sample_every_s=5, stall_after_s=100,
                         liveness_timeout_s=30)  # fmt: skip
    return StatusBoard("node1", timing=timing, clock=clock)


def test_rate_window_counts_only_the_last_window() -> None:
    """Counts older than the window drop out of the rate."""
    window = RateWindow(10, started_at=0)
    window.add(20, 100)
    window.add(25, 50)
    assert window.rate(25) == 15
    assert window.rate(31) == 5  # the 100 at t=20 left the window at t=30
    assert window.rate(36) == 0


def test_rate_window_right_after_start_divides_by_elapsed_time() -> None:
    """Before a full window has passed the rate is over the elapsed time (at least 1 s)."""
    window = RateWindow(30, started_at=0)
    window.add(0.5, 40)
    assert window.rate(0.5) == 40
    assert window.rate(4) == 10


def test_board_throughput_follows_the_sliding_window(board: StatusBoard, clock: FakeClock) -> None:
    """events_per_s is the applied count over the window, and falls to 0 when idle."""
    pg = board.add_destination("pg", "postgres")
    clock.advance(20)
    pg.batch_applied(batch(50, written_s=clock.now), Position(1, 10))
    clock.advance(5)
    pg.batch_applied(batch(30, written_s=clock.now), Position(1, 20))
    status = board.snapshot().destinations[0]
    assert status.events_per_s == 8
    assert status.applied_events == 80
    assert status.position == Position(1, 20)
    clock.advance(10)
    assert board.snapshot().destinations[0].events_per_s == 0


def test_board_history_samples_every_interval_and_is_bounded(
    board: StatusBoard, clock: FakeClock
) -> None:
    """A sample per 5 s is kept for 60 s; older samples are dropped, oldest first."""
    pg = board.add_destination("pg", "postgres")
    for step in range(30):
        pg.batch_applied(batch(10, written_s=clock.now - 1), Position(1, step))
        board.heartbeat()
        clock.advance(2.5)
    history = board.snapshot().destinations[0].history
    assert len(history) == 12
    times = [point.at for point in history]
    assert times == sorted(times)
    assert all(later - earlier >= 5 for earlier, later in itertools.pairwise(times))
    assert clock.now - times[0] <= 60
    assert all(point.events_per_s > 0 for point in history)


def test_board_history_records_lag_behind_source(board: StatusBoard, clock: FakeClock) -> None:
    """A sample holds the lag behind the source at its time."""
    pg = board.add_destination("pg", "postgres")
    pg.batch_applied(batch(1, written_s=T0 - 30), Position(1, 1))
    board.source_writes_seen({"ks.t": int((T0 - 5) * 1e6)})
    clock.advance(5)
    history = board.snapshot().destinations[0].history
    assert history[-1].lag_s == pytest.approx(25)


def test_board_states_follow_reach_error_and_commit(board: StatusBoard, clock: FakeClock) -> None:
    """STARTING -> RUNNING -> RETRYING (with retry time and error) -> RUNNING; FAILED."""
    pg = board.add_destination("pg", "postgres")
    assert board.snapshot().destinations[0].state is DestinationState.STARTING
    pg.reached(Position(3, 0))
    status = board.snapshot().destinations[0]
    assert status.state is DestinationState.RUNNING
    assert status.position == Position(3, 0)
    pg.error(ErrorKind.TRANSIENT, "connection refused\nsecond line", retry_in_s=2.0)
    status = board.snapshot().destinations[0]
    assert status.state is DestinationState.RETRYING
    assert status.retry_at == T0 + 2
    assert status.retries == 1
    assert status.errors.transient == 1
    assert status.last_error is not None
    assert status.last_error.message == "connection refused"
    pg.batch_applied(batch(1, written_s=T0), Position(3, 9))
    assert board.snapshot().destinations[0].state is DestinationState.RUNNING
    pg.error(ErrorKind.PERMANENT, "table ks.t does not exist")
    status = board.snapshot().destinations[0]
    assert status.state is DestinationState.FAILED
    assert status.errors.total == 2


def test_board_error_message_is_shortened(board: StatusBoard) -> None:
    """A long error message is cut to one line of at most 300 characters."""
    pg = board.add_destination("pg", "postgres")
    pg.error(ErrorKind.INTERNAL, "x" * 1000)
    last = board.snapshot().destinations[0].last_error
    assert last is not None
    assert len(last.message) == 300


def test_board_readiness_needs_source_and_running_destinations(board: StatusBoard) -> None:
    """Not ready until the source was read and every destination reached; a failure shows."""
    pg = board.add_destination("pg", "postgres")
    ch = board.add_destination("ch", "clickhouse")
    readiness = board.readiness()
    assert not readiness.ready
    assert [(c.name, c.ok) for c in readiness.checks] == [
        ("agent", True), ("source", False), ("pg", False), ("ch", False)]  # fmt: skip
    board.source_state(reachable=True)
    pg.reached(None)
    ch.reached(None)
    assert board.readiness().ready
    ch.error(ErrorKind.TRANSIENT, "connection refused", retry_in_s=1)
    readiness = board.readiness()
    assert not readiness.ready
    failing = [c for c in readiness.checks if not c.ok]
    assert [c.name for c in failing] == ["ch"]
    assert failing[0].detail == "retrying"
    assert failing[0].last_error is not None
    assert failing[0].last_error.message == "connection refused"


def test_board_source_error_is_reported(board: StatusBoard) -> None:
    """An unreachable source fails readiness with its error."""
    board.source_state(reachable=False, error="cassandra at 127.0.0.1:9042 is unreachable")
    source = next(c for c in board.readiness().checks if c.name == "source")
    assert not source.ok
    assert source.last_error is not None
    assert "unreachable" in source.last_error.message


def test_board_destination_with_work_and_no_commit_is_stalled(
    board: StatusBoard, clock: FakeClock
) -> None:
    """A running destination with a backlog and no commit for stall_after_s is stalled."""
    board.source_state(reachable=True)
    pg = board.add_destination("pg", "postgres")
    pg.reached(None)
    pg.backlog(10)
    clock.advance(99)
    board.heartbeat()
    assert board.readiness().ready
    clock.advance(2)
    board.heartbeat()
    assert not board.readiness().ready
    assert board.snapshot().destinations[0].stalled
    pg.backlog(0)  # nothing to do: an idle destination is not stalled
    assert board.readiness().ready


def test_board_liveness_needs_recent_heartbeat(board: StatusBoard, clock: FakeClock) -> None:
    """Alive while the loop beats within the timeout; not after a gap or after stopping."""
    assert board.liveness() == (True, 0)
    clock.advance(31)
    alive, age = board.liveness()
    assert not alive
    assert age == 31
    board.heartbeat()
    assert board.liveness()[0]
    board.stopped()
    assert not board.liveness()[0]
    assert not board.snapshot().alive


def test_board_source_progress_and_cdc_raw(board: StatusBoard) -> None:
    """Source counters add up; cdc_raw usage gives a ratio."""
    board.source_progress(segments=2, decoded_bytes=4096)
    board.source_progress(decode_errors=1, schema_changes=3)
    board.cdc_raw_usage(used_bytes=256, total_bytes=1024)
    source = board.snapshot().source
    assert (source.segments_decoded, source.decoded_bytes) == (2, 4096)
    assert (source.decode_errors, source.schema_changes) == (1, 3)
    assert source.cdc_raw_used_ratio == 0.25


def test_board_counts_dead_letters(board: StatusBoard) -> None:
    """Dead letters add up per destination."""
    pg = board.add_destination("pg", "postgres")
    pg.dead_letter(2)
    pg.dead_letter()
    assert board.snapshot().destinations[0].dead_letters == 3


def test_board_concurrent_updates_are_not_lost(board: StatusBoard) -> None:
    """Batches applied from several threads while another reads snapshots all count."""
    handles = [board.add_destination(f"d{i}", "postgres") for i in range(4)]
    stop = threading.Event()

    def read() -> None:
        while not stop.wait(0.001):
            board.snapshot()

    def write(handle_index: int) -> None:
        for step in range(250):
            handles[handle_index].batch_applied(batch(2, written_s=T0), Position(1, step))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert [d.applied_events for d in board.snapshot().destinations] == [500] * 4
