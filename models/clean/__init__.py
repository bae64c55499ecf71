"""The clean job's pure library: podcast pause, breath, click and bump editing.

Stages, each a module: ``features`` (log-mel frames), ``network`` (frame
classifier), ``detect`` (model + signal logic -> frame labels and events),
``planner`` (events -> one edit list), ``edits`` (the edit-list IR, its JSON
loader and ``map_time``), ``render`` (cleaned audio with crossfades),
``export`` (JSON, CSV, Audacity labels), ``report`` (PNG). Training material is
synthesized by ``sources``, ``sounds`` and ``episodes``; ``training`` fits the
model and ``bench`` scores it against baselines.
"""
