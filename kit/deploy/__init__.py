"""Deployment beyond one machine, on existing engines: compose files and Kubernetes manifests."""
