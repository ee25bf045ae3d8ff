"""Pure decoding of Cassandra's commit log: bytes (and a schema snapshot) in, records out.

Standard library only. Nothing in this package opens files or sockets, reads the clock or the
environment, logs or prints (STYLE.md section 3); callers pass `bytes`/`memoryview`.
"""
