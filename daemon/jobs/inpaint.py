"""The inpaint job: read a file, find or take the gaps, fill them, write the outputs.

Outputs per input (api.md): ``<stem>.inpainted.<ext>`` (role ``audio``: same rate,
channels, length and sample format; integer PCM is read as integers and only
the gap samples are replaced, so the file is bit-identical outside the gaps),
``<stem>.gaps.json`` (role ``gaps``) and, with ``report``, ``<stem>.inpaint.png``.
Lossy inputs (MP3, Ogg) cannot be re-encoded bit-identically, so they are
written as 32-bit float WAV of the decoded samples instead (exact outside the
gaps), with a message saying so. Files are processed window by window
(:mod:`daemon.jobs.inpaint_windows`), so memory does not grow with their length.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.jobs.base import JobContext, JobOutcome, JobSpec, OutputFile
from daemon.jobs.inpaint_preset import PresetSettings
from daemon.presets import job_settings
from models.errors import ModelError, UserInputError
from models.progress import scaled

if TYPE_CHECKING:
    from models.inpaint.gaps import Gap

log = logging.getLogger(__name__)

MODEL_NAME = "inpaint-gapnet"
#: Options that are job inputs rather than preset fields.
_JOB_OPTIONS = {"gaps", "report", "out_file"}


def run(spec: JobSpec, ctx: JobContext) -> JobOutcome:
    settings = job_settings(PresetSettings, "inpaint", spec.preset, spec.options, job_options=_JOB_OPTIONS,
                            user_dir=ctx.user_presets_dir)
    gap_ranges = spec.options.get("gaps")
    if gap_ranges is None and not settings.detect:
        raise UserInputError("inpaint needs gaps (options.gaps / --gap / --gaps) or detection (--detect)")
    if spec.options.get("out_file") and len(spec.inputs) != 1:
        raise UserInputError("an output file name only works with a single input")
    outputs: list[OutputFile] = []
    summaries: dict[str, Any] = {}
    messages: list[str] = []
    for index, source in enumerate(spec.inputs):
        progress = scaled(ctx.progress, index / len(spec.inputs), (index + 1) / len(spec.inputs))
        files, summary, notes = _run_one(Path(source), spec, settings, ctx, progress)
        outputs += files
        summaries[Path(source).name] = summary
        messages += [f"{Path(source).name}: {n}" for n in notes]
    summary = next(iter(summaries.values())) if len(summaries) == 1 else summaries
    return JobOutcome(outputs=tuple(outputs), summary=summary, messages=tuple(messages))


def _run_one(source: Path, spec: JobSpec, settings: PresetSettings, ctx: JobContext,
             progress: Any) -> tuple[list[OutputFile], dict[str, Any], list[str]]:
    from daemon.jobs import inpaint_windows as windows
    from models.audio_io import audio_info, is_lossy, output_format_for
    from models.inpaint.gaps import gaps_from_json, merge_gaps, sanitize_gaps

    started = time.perf_counter()
    info = audio_info(source)
    notes: list[str] = []
    out_audio = _output_path(source, spec, lossy=is_lossy(info.format))
    output_format_for(out_audio)  # unsupported extensions fail here, before any work
    if is_lossy(info.format):
        notes.append(f"{info.format} is lossy: wrote float WAV so the decoded samples outside the gaps stay exact")
    int_bits = _integer_bits(info.subtype)
    gaps: list[Gap] = []
    if spec.options.get("gaps") is not None:
        sanitized = sanitize_gaps(gaps_from_json(spec.options["gaps"]), sr=info.sample_rate, frames=info.frames)
        gaps += sanitized.gaps
        notes += sanitized.messages
    if settings.detect:
        gaps += windows.detect_in_blocks(source, info, _detect_params(settings), scaled(progress, 0.0, 0.25))
        progress(0.25, f"detected {len(gaps)} gap(s)")
    gaps = merge_gaps(gaps)
    filled = windows.WindowedFill(patches=(), fills=(), messages=())
    if settings.fill and gaps:
        model = _maybe_model(gaps, info.sample_rate, settings, notes)
        filled = windows.fill_in_windows(source, info, gaps, params=_fill_params(settings), model=model,
                                         progress=scaled(progress, 0.3, 0.9), cancel=ctx.cancel)
        notes += filled.messages
    fills = filled.fills
    outputs: list[OutputFile] = []
    if settings.fill:
        subtype = "FLOAT" if is_lossy(info.format) else info.subtype
        windows.write_filled(source, out_audio, info, filled.patches, subtype=subtype, int_bits=int_bits)
        outputs.append(OutputFile("audio", out_audio, source))
    gaps_path = out_audio.parent / f"{source.stem}.gaps.json"
    methods = {(f.gap.start, f.gap.end, f.gap.channel): f.method for f in fills}
    _write_gaps_json(gaps_path, source, info, gaps, methods, notes, filled=settings.fill)
    outputs.append(OutputFile("gaps", gaps_path, source))
    if spec.options.get("report"):
        from models.inpaint.report import draw_report

        before, after, rate, view_gaps = windows.report_signals(source, info, filled.patches, gaps)
        png = draw_report(before, after, rate, view_gaps, out_audio.parent / f"{source.stem}.inpaint.png",
                          title=source.name)
        outputs.append(OutputFile("report", png, source))
    progress(1.0, "done")
    counts = Counter(f.method for f in fills)
    gap_total_s = round(sum(g.length for g in gaps) / info.sample_rate, 3)
    summary = {"headline": _headline(len(gaps), gap_total_s, counts, detected=bool(settings.detect),
                                     filled=bool(settings.fill)),
               "gaps": len(gaps), "gap_total_s": gap_total_s,
               "detected": bool(settings.detect), "filled_by": dict(counts),
               "elapsed_s": round(time.perf_counter() - started, 3)}
    return outputs, summary, notes


METHOD_NAMES = {"janssen": "Janssen AR", "model": "the gap model", "similarity": "similarity copy",
                "zeros": "silence"}


def _headline(n_gaps: int, gap_total_s: float, counts: Counter[str], *, detected: bool, filled: bool) -> str:
    """One line for tables: how many gaps, how long in all, and what filled them."""
    found = f"{n_gaps} dropout{'s' * (n_gaps != 1)} found" if detected else f"{n_gaps} gap{'s' * (n_gaps != 1)}"
    if not filled or not counts:
        return f"{found} ({gap_total_s:.2f} s), not filled" if n_gaps else found
    methods = ", ".join(f"{n} by {METHOD_NAMES.get(m, m)}" for m, n in counts.most_common())
    return f"{found} ({gap_total_s:.2f} s), filled: {methods}"


def _output_path(source: Path, spec: JobSpec, *, lossy: bool) -> Path:
    out_file = spec.options.get("out_file")
    if out_file:
        return Path(out_file)
    suffix = ".wav" if lossy else source.suffix
    return spec.out_dir / f"{source.stem}.inpainted{suffix}"


def _integer_bits(subtype: str) -> int | None:
    return {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(subtype)


def _detect_params(settings: PresetSettings) -> Any:
    from models.inpaint.detect import DetectParams

    return DetectParams(
        detect_digital=settings.detect_digital, detect_tape=settings.detect_tape,
        detect_clicks=settings.detect_clicks, min_digital_ms=settings.min_digital_ms,
        tape_drop_db=settings.tape_drop_db, max_gap_ms=settings.max_gap_ms, margin_ms=settings.margin_ms,
        click_threshold=settings.click_threshold, min_confidence=settings.min_confidence,
    )


def _fill_params(settings: PresetSettings) -> Any:
    from models.inpaint.fill import FillParams
    from models.inpaint.spectral import SpectralParams

    return FillParams(method=settings.method, janssen_max_ms=settings.janssen_max_ms, fade_ms=settings.fade_ms,
                      spectral=SpectralParams(context_s=settings.context_s, iterations=settings.phase_iterations))


def _maybe_model(gaps: list[Any], sr: int, settings: PresetSettings, notes: list[str]) -> Any:
    """The gap model when some gap needs it; without weights, fall back (auto) or fail (model)."""
    if settings.method not in ("auto", "model"):
        return None
    if not any(1000 * g.length / sr > settings.janssen_max_ms for g in gaps) and settings.method == "auto":
        return None
    from models.registry import load_model

    try:
        # The model is small and its output feeds numpy phase reconstruction: CPU is as fast as any GPU here.
        return load_model(MODEL_NAME, device="cpu")
    except ModelError as exc:
        if settings.method == "model":
            raise
        notes.append(f"gap model unavailable ({exc}); long gaps filled by similarity copy or Janssen AR")
        return None


def _write_gaps_json(path: Path, source: Path, info: Any, gaps: list[Any], methods: dict[Any, str],
                     notes: list[str], *, filled: bool) -> None:
    from models.atomic import write_text_atomic

    entries = []
    for gap in gaps:
        entry = gap.to_json(info.sample_rate)
        entry["method"] = methods.get((gap.start, gap.end, gap.channel))
        entries.append(entry)
    payload = {"source": str(source), "sample_rate": info.sample_rate, "channels": info.channels,
               "duration_s": round(info.duration_s, 6), "filled": filled, "gaps": entries, "messages": notes}
    write_text_atomic(path, json.dumps(payload, indent=2) + "\n")
