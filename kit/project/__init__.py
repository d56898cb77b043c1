"""The project: its settings, its manifest and its servers."""
