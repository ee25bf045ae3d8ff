"""The demo job: a small CDC workload against the local stack (see `casscade demo`)."""
