"""Inpainting: find gaps and dropouts in audio and fill them so a listener cannot find them.

Pure library (arrays in, frozen results out). Methods by gap length: Janssen-style
iterative AR interpolation for short gaps (:mod:`models.ar`), a trained
spectrogram model with phase reconstruction for long ones
(:mod:`models.inpaint.spectral`), a similarity copy from elsewhere in the
recording as fallback (:mod:`models.inpaint.similarity`); :mod:`models.inpaint.fill`
chooses between them and blends each fill into the gap.
"""
