"""The reference platform server (docs/protocol.md) and its storage. No Qt in here."""
