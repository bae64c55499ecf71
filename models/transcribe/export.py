"""Writing transcribed notes: standard MIDI, a JSON note list, MusicXML and a PNG report.

One note list, several sibling exporters. The MIDI file is what DAWs import
(type 1: a tempo track plus a piano track, every note-on matched by a
note-off); MusicXML goes through music21, quantized to a beat grid from an
estimated tempo so the written music reads like a score rather than a
millisecond-accurate piano roll.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mido
import numpy as np

from models.atomic import atomic_path, write_text_atomic
from models.midi import MidiNote, piano_midi
from models.transcribe.decode import Posteriors, TranscribedNote

log = logging.getLogger(__name__)

DEFAULT_TEMPO_BPM = 120.0


def estimate_tempo(notes: Sequence[TranscribedNote], *, default_bpm: float = DEFAULT_TEMPO_BPM) -> float:
    """A tempo from the note onsets: the autocorrelation peak of a velocity-weighted onset train,
    weighted towards moderate tempi (a log-normal prior around ``default_bpm``, one octave wide).

    Plain numpy on purpose: librosa's estimator compiles with numba on first use, which
    costs seconds in every fresh process.
    """
    if len(notes) < 8:
        return default_bpm
    fps = 100
    envelope = np.zeros(int(max(n.start_s for n in notes) * fps) + 2 * fps, dtype=np.float64)
    for note in notes:
        envelope[int(note.start_s * fps)] += note.velocity / 127.0
    kernel = np.hanning(7)
    envelope = np.convolve(envelope - envelope.mean(), kernel, mode="same")
    lags = np.arange(int(fps * 60 / 240), int(fps * 60 / 30) + 1)
    if lags[-1] >= envelope.shape[0]:
        return default_bpm
    spectrum = np.fft.rfft(envelope, n=2 * envelope.shape[0])
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2)[: envelope.shape[0]]
    bpm = 60.0 * fps / lags
    prior = np.exp(-0.5 * np.log2(bpm / default_bpm) ** 2)
    # A beat period also shows at twice and four times its lag (bars, half bars): count those
    # too, so the beat wins over periods that only line up with some of the notes.
    metrical = sum(weight * autocorr[np.minimum(lags * k, autocorr.shape[0] - 1)]
                   for k, weight in ((1, 1.0), (2, 0.5), (4, 0.25)))
    strength = metrical * prior
    if not np.any(strength > 0):
        return default_bpm
    return float(bpm[int(np.argmax(strength))])


def notes_to_midi(notes: Sequence[TranscribedNote], *, tempo_bpm: float = DEFAULT_TEMPO_BPM, ppq: int = 480,
                  program: int = 0, name: str = "piano") -> mido.MidiFile:
    """A type-1 MIDI file: tempo track, then one piano track with matched note-on/note-off pairs."""
    return piano_midi((MidiNote(n.pitch, n.start_s, n.end_s, n.velocity) for n in notes),
                      tempo_bpm=tempo_bpm, ppq=ppq, program=program, name=name)


def write_midi(path: Path, notes: Sequence[TranscribedNote], *, tempo_bpm: float, ppq: int = 480,
               name: str = "piano") -> Path:
    midi = notes_to_midi(notes, tempo_bpm=tempo_bpm, ppq=ppq, name=name)
    with atomic_path(path) as tmp:
        midi.save(str(tmp))
    return path


def notes_payload(notes: Sequence[TranscribedNote], *, source: str, duration_s: float, tempo_bpm: float,
                  messages: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "source": source, "duration_s": round(duration_s, 4), "tempo_bpm": round(tempo_bpm, 2),
        "messages": list(messages), "count": len(notes),
        "notes": [{"pitch": n.pitch, "start_s": round(n.start_s, 4), "end_s": round(n.end_s, 4),
                   "velocity": n.velocity, "confidence": round(n.confidence, 3)} for n in notes],
    }


def write_notes_json(path: Path, payload: dict[str, Any]) -> Path:
    write_text_atomic(path, json.dumps(payload, indent=1) + "\n")
    return path


def write_musicxml(path: Path, notes: Sequence[TranscribedNote], *, tempo_bpm: float,
                   quarter_divisions: tuple[int, ...] = (4, 3), title: str = "Transcription") -> Path:
    """Quantized written music: onsets and lengths snapped to 16ths or triplet 8ths, grand staff split at C4."""
    from music21 import chord, clef, instrument, metadata, meter, note, stream, tempo

    sec_per_quarter = 60.0 / tempo_bpm
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title)
    for staff_name, low, high, staff_clef in (("RH", 60, 127, clef.TrebleClef()), ("LH", 0, 59, clef.BassClef())):
        part = stream.Part(id=staff_name)
        part.insert(0, instrument.Piano())
        part.insert(0, staff_clef)
        part.insert(0, meter.TimeSignature("4/4"))
        if staff_name == "RH":
            part.insert(0, tempo.MetronomeMark(number=round(tempo_bpm)))
        onsets: dict[float, list[TranscribedNote]] = {}
        for n in notes:
            if low <= n.pitch <= high:
                onsets.setdefault(round(n.start_s / sec_per_quarter * 12) / 12, []).append(n)
        for offset_q, group in sorted(onsets.items()):
            length_q = max(0.25, float(np.median([(n.end_s - n.start_s) / sec_per_quarter for n in group])))
            pitches = sorted({n.pitch for n in group})
            element = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(pitches)
            element.quarterLength = length_q
            element.volume.velocity = int(max(n.velocity for n in group))
            part.insert(offset_q, element)
        part.quantize(quarterLengthDivisors=quarter_divisions, processOffsets=True, processDurations=True,
                      inPlace=True)
        score.insert(0, part)
    made = score.makeNotation()
    with atomic_path(path) as tmp:
        made.write("musicxml", fp=str(tmp))
    return path


def draw_report(path: Path, spectrogram: np.ndarray, notes: Sequence[TranscribedNote], *, frames_per_s: float,
                posteriors: Posteriors | None = None, title: str = "") -> Path:
    """The spectrogram with the transcribed notes outlined over it, a velocity piano roll and
    (when given) the frame probabilities, as a PNG.

    ``spectrogram`` is the model's semitone-aligned input ``(frames, bins)``, so a
    note's outline sits exactly on its fundamental.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from models.transcribe.features import bin_midi

    duration = max(spectrogram.shape[0] / frames_per_s, 0.1)
    rows = 3 if posteriors is not None else 2
    fig, axes = plt.subplots(rows, 1, figsize=(min(40.0, 4 + duration / 2), 3.2 * rows), sharex=True)
    pitch_extent = (bin_midi(-0.5), bin_midi(spectrogram.shape[1] - 0.5))
    axes[0].imshow(spectrogram.T, origin="lower", aspect="auto", cmap="magma",
                   extent=(0, duration, *pitch_extent))
    for n in notes:
        axes[0].add_patch(Rectangle((n.start_s, n.pitch - 0.5), n.end_s - n.start_s, 1.0, fill=False,
                                    edgecolor="cyan", linewidth=0.6))
    axes[0].set_ylabel("pitch (MIDI)")
    axes[0].set_ylim(20, 109)
    axes[0].set_title(title or "transcription")
    for n in notes:
        axes[1].add_patch(Rectangle((n.start_s, n.pitch - 0.4), n.end_s - n.start_s, 0.8,
                                    color=plt.cm.viridis(n.velocity / 127)))
    axes[1].set_ylim(20, 109)
    axes[1].set_ylabel("notes (colour = velocity)")
    if posteriors is not None:
        axes[2].imshow(posteriors.frame.T, origin="lower", aspect="auto", cmap="gray_r",
                       extent=(0, posteriors.n_frames / frames_per_s, 20.5, 108.5), vmin=0, vmax=1)
        axes[2].set_ylabel("frame probability")
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0, duration)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(str(tmp), dpi=80, format="png")
    plt.close(fig)
    return path
