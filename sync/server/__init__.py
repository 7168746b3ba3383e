"""The reference backend a customer runs in its own cloud (command ``mar-server``)."""
