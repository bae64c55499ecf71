"""reamend's application layer: settings, presets, jobs, the daemon, REAPER and the CLI.

It owns all I/O around the pure ``models`` library.
"""
