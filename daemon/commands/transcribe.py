"""``reamend transcribe``: piano audio to MIDI (plus a note list, MusicXML and a report)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.console import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "transcribe", help="transcribe piano audio to MIDI",
        description="Notes with onsets, offsets and velocities from a piano recording. Writes <stem>.mid and "
                    "<stem>.notes.json beside the input (or where --out says).")
    parser.add_argument("input", type=Path, metavar="IN", help="audio file (WAV, FLAC, AIFF, OGG, MP3)")
    parser.add_argument("--out", type=Path, metavar="OUT.mid",
                        help="MIDI file to write, or a folder (default: beside the input)")
    parser.add_argument("--preset", help="preset name or .toml path, e.g. piano, piano-tape")
    parser.add_argument("--musicxml", action="store_true", help="also write quantized MusicXML (<stem>.musicxml)")
    parser.add_argument("--report", action="store_true", help="also draw a piano roll over the spectrogram (PNG)")
    parser.add_argument("--onset-threshold", type=float, metavar="P", help="override the preset's onset threshold")
    parser.add_argument("--tempo-bpm", type=float, metavar="BPM",
                        help="tempo written to the files (default: estimated)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.commands._jobcli import execute, existing_inputs
    from daemon.jobs.base import JobSpec

    (source,) = existing_inputs([args.input])
    options: dict[str, Any] = {"report": bool(args.report), "musicxml": bool(args.musicxml)}
    if args.onset_threshold is not None:
        options["onset_threshold"] = args.onset_threshold
    if args.tempo_bpm is not None:
        options["tempo_bpm"] = args.tempo_bpm
    out_dir = source.parent
    if args.out is not None:
        if args.out.suffix.lower() in (".mid", ".midi"):
            options["out_file"] = str(args.out.resolve())
            out_dir = args.out.resolve().parent
        else:
            out_dir = args.out.resolve()
    spec = JobSpec(kind="transcribe", inputs=(source,), out_dir=out_dir, preset=args.preset, options=options)
    execute(spec, ctx, title=f"transcribe {source.name}")
    return 0
