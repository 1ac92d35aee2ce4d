"""Stormwatch: early warning for reputation storms (pollers, detector, alerter, simulator and their shared code)."""
