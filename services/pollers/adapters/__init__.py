"""Platform adapters: one module per platform, all speaking the PlatformAdapter contract in base.py."""
