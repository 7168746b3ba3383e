"""Sync: the wire protocol, the device-side engine and the reference server (``sync.server``)."""
