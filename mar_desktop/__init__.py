"""MAR Desktop core: domain model, clinical rules, permissions and the signed ledger format.

This package imports nothing of the project's other packages and no Qt, SQL or HTTP library.
"""

__version__ = "0.1.0"
