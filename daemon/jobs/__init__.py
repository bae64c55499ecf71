"""Job runners: one per job kind, shared by the CLI, the daemon's worker and the hot folder."""
