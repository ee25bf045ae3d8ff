"""The agent: wiring the tailer, the event mapping and the destinations (agent.py), and the
oracle that compares destinations with Cassandra (verify.py)."""
