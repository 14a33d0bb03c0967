"""Background jobs: one persisted queue for every kind of background work."""
