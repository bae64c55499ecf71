"""Helpers for the daemon tests: a tiny job runner and a real daemon process around it."""
