"""Destinations: each applies change events with Cassandra's last-write-wins rule."""
