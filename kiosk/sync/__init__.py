"""Offline sync with the platform server: signing, outbox and catalog pull."""
