"""Running containers: the engine, the hardened command line, their logs."""
