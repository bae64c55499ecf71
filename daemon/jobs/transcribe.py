"""The transcribe job: piano audio in, MIDI, a note list and optionally MusicXML and a report out.

Outputs per input (api.md): ``<stem>.mid`` (role ``midi``: type 1, tempo track,
velocities, matched note-offs), ``<stem>.notes.json`` (role ``notes``), with
``musicxml`` a quantized ``<stem>.musicxml`` (role ``musicxml``) and with
``report`` a piano-roll-over-spectrogram ``<stem>.transcribe.png`` (role
``report``). Silence, very short files and non-piano audio give a valid, possibly
empty MIDI file and a message, never an error.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from daemon.jobs.base import JobContext, JobOutcome, JobSpec, OutputFile
from daemon.jobs.transcribe_preset import PresetSettings
from daemon.presets import job_settings
from models.errors import UserInputError
from models.progress import ProgressFn, scaled

log = logging.getLogger(__name__)

MODEL_NAME = "transcribe-piano"
#: Options that are job inputs rather than preset fields.
_JOB_OPTIONS = {"report", "musicxml", "out_file"}
_QUANTIZE = {"16th": (4,), "8th": (2,), "16th-triplet": (4, 3)}


def decode_settings(settings: PresetSettings) -> Any:
    from models.transcribe.decode import DecodeSettings
    from models.transcribe.features import FRAMES_PER_S

    return DecodeSettings(onset_threshold=settings.onset_threshold, frame_threshold=settings.frame_threshold,
                          offset_threshold=settings.offset_threshold,
                          retrigger_threshold=settings.retrigger_threshold, min_ioi_s=settings.min_ioi_ms / 1000,
                          min_duration_s=settings.min_note_ms / 1000, ghost_ratio=settings.ghost_ratio,
                          ghost_frame_threshold=settings.ghost_frame_threshold,
                          ghost_keep_threshold=settings.ghost_keep_threshold,
                          restrike_keep_threshold=settings.restrike_keep_threshold,
                          offset_snap_frames=round(settings.offset_snap_ms / 1000 * FRAMES_PER_S),
                          offset_snap_threshold=settings.offset_snap_threshold,
                          release_keys=settings.pedal_release_keys,
                          release_threshold=settings.pedal_release_threshold,
                          release_lookahead_frames=round(settings.pedal_release_window_ms / 1000 * FRAMES_PER_S))


def run(spec: JobSpec, ctx: JobContext) -> JobOutcome:
    from models.registry import load_model
    from models.transcribe.decode import Rescorers
    from models.transcribe.rescorers import shipped_rescorers

    settings = job_settings(PresetSettings, "transcribe", spec.preset, spec.options, job_options=_JOB_OPTIONS,
                            user_dir=ctx.user_presets_dir)
    if spec.options.get("out_file") and len(spec.inputs) != 1:
        raise UserInputError("an output file name only works with a single input")
    model = load_model(MODEL_NAME, device="cpu")
    shipped = shipped_rescorers()
    rescorers = Rescorers(ghost=shipped.ghost if settings.ghost_model else None,
                          restrike=shipped.restrike if settings.restrike_model else None,
                          end=shipped.end if settings.end_model else None)
    outputs: list[OutputFile] = []
    summaries: dict[str, Any] = {}
    messages: list[str] = []
    for index, source in enumerate(spec.inputs):
        progress = scaled(ctx.progress, index / len(spec.inputs), (index + 1) / len(spec.inputs))
        files, summary, notes = _run_one(Path(source), spec, settings, ctx, model, rescorers, progress)
        outputs += files
        summaries[Path(source).name] = summary
        messages += [f"{Path(source).name}: {n}" for n in notes]
    summary = next(iter(summaries.values())) if len(summaries) == 1 else summaries
    return JobOutcome(outputs=tuple(outputs), summary=summary, messages=tuple(messages))


def _run_one(source: Path, spec: JobSpec, settings: PresetSettings, ctx: JobContext, model: Any,
             rescorers: Any, progress: ProgressFn) -> tuple[list[OutputFile], dict[str, Any], list[str]]:
    from models.atomic import refuse_overwriting_inputs
    from models.transcribe import export
    from models.transcribe.features import FRAMES_PER_S, SAMPLE_RATE, log_spectrogram, normalize_peak
    from models.transcribe.transcriber import input_messages, load_mono_16k, transcribe

    started = time.perf_counter()
    audio, info = load_mono_16k(source)
    progress(0.05, "read audio")
    want_report = bool(spec.options.get("report"))
    transcribe_started = time.perf_counter()
    result = transcribe(audio, SAMPLE_RATE, model=model, settings=decode_settings(settings),
                        rescorers=rescorers, keep_posteriors=want_report, progress=scaled(progress, 0.05, 0.85),
                        cancel=ctx.cancel)
    transcribe_s = time.perf_counter() - transcribe_started
    notes = [n for n in result.notes if n.velocity >= settings.min_velocity]
    messages = input_messages(info.sample_rate, info.channels) + list(result.messages)
    duration_s = info.duration_s
    tempo = settings.tempo_bpm or export.estimate_tempo(notes)
    midi_path = _midi_path(source, spec)
    stem = midi_path.stem
    refuse_overwriting_inputs(midi_path, [source])
    outputs = [OutputFile("midi", export.write_midi(midi_path, notes, tempo_bpm=tempo, ppq=settings.ppq,
                                                   name=source.stem), source)]
    payload = export.notes_payload(notes, source=str(source), duration_s=duration_s, tempo_bpm=tempo,
                                   messages=messages)
    outputs.append(OutputFile("notes", export.write_notes_json(midi_path.parent / f"{stem}.notes.json", payload),
                              source))
    progress(0.9, "wrote MIDI")
    if spec.options.get("musicxml"):
        xml_path = midi_path.parent / f"{stem}.musicxml"
        export.write_musicxml(xml_path, notes, tempo_bpm=tempo, quarter_divisions=_QUANTIZE[settings.quantize],
                              title=source.stem)
        outputs.append(OutputFile("musicxml", xml_path, source))
    if want_report:
        features = log_spectrogram(normalize_peak(audio))
        report = export.draw_report(midi_path.parent / f"{stem}.transcribe.png", features, notes,
                                    frames_per_s=FRAMES_PER_S, posteriors=result.posteriors, title=source.name)
        outputs.append(OutputFile("report", report, source))
    progress(1.0, "done")
    elapsed = time.perf_counter() - started
    summary = {"headline": f"{len(notes)} notes in {duration_s:.1f} s", "notes": len(notes),
               "duration_s": round(duration_s, 3), "tempo_bpm": round(tempo, 1),
               "pitch_range": [min(n.pitch for n in notes), max(n.pitch for n in notes)] if notes else [],
               "elapsed_s": round(elapsed, 3),
               "transcribe_x_realtime": round(duration_s / transcribe_s, 1) if transcribe_s > 0 else None}
    return outputs, summary, messages


def _midi_path(source: Path, spec: JobSpec) -> Path:
    out_file = spec.options.get("out_file")
    if out_file:
        path = Path(out_file)
        return path if path.suffix.lower() in (".mid", ".midi") else path.with_suffix(".mid")
    return spec.out_dir / f"{source.stem}.mid"
