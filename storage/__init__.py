"""Encrypted local storage: key store, SQLCipher connection, migrations, the append-only ledger
and audit tables, projections and the repositories that implement the core's ports."""
