"""reamend's pure audio library: arrays in, typed results out.

Nothing here imports ``daemon`` (a test enforces it), configures logging or prints.
"""
