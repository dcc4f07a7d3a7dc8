"""Self-service terminal software for government service halls."""

__version__ = "0.1.0"
