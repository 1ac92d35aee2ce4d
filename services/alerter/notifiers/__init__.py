"""Notifiers: one module per receiver type, all behind the contract in `base.py`."""
