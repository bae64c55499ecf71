"""REAPER integration: the reapy bridge, write-back, offline .RPP sessions and the installer."""
