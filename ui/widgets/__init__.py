"""Reusable widgets: banners, status chips, the scan field, identity banner, status bar."""
