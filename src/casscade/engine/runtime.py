"""Process settings for a long run of the agent.

The agent makes and drops many small objects per change (decoded cells, events, staged rows)
while it holds a batch, and the decoded entries and events it shares between destinations,
alive. CPython's cyclic garbage collector runs after every 700 net allocations by default and
then walks the young objects, and every so often all of them: with two destinations that
walk took about a third of the agent's time (`benchmarks/together.py`, changes/s into
PostgreSQL and ClickHouse at once: 4,600 with the default; 5,900-6,600 with these thresholds
or with 20,000 / 20 / 50, the difference lost in the noise; 7,000-7,100 with the collector
off, in one run). The agent's objects hold no
reference cycles, so reference counting frees them anyway; the collector only has to run now
and then, for the few cycles errors make (an exception and its traceback): a full collection
comes after about 500 million allocations, some minutes of full load.
"""

from __future__ import annotations

import gc

# Net allocations between two young-generation collections (CPython's default: 700), and
# how many young and middle collections pass before an older one (defaults 10 and 10).
YOUNG_THRESHOLD = 100_000
MIDDLE_THRESHOLD = 50
OLD_THRESHOLD = 100


def tune_collector() -> None:
    """Make the cyclic garbage collector run less often (for the whole process)."""
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
