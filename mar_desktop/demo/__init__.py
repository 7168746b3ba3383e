"""The demo facility: fictional residents, realistic orders and plausible history.

Everything here is made up. Nothing is PHI; it still goes through the same services and
encryption as real data so the demo shows the product as it is.
"""
