"""A headless REAPER stand-in speaking reapy's real protocol (see host.py and DESIGN.md)."""
