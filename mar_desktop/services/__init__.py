"""Use-case services: every change and every PHI read goes through one of these.

Services run on worker threads (never the GUI thread). Each checks permissions itself — whatever
calls it — and writes ledger and audit entries together in one durable append.
"""
