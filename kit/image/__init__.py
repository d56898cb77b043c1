"""Making images: the base, the wheelhouse and locks, the Dockerfile, the build and its smoke test."""
