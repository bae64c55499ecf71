"""Run basic-pitch 0.4.0 (ONNX) on benchmark audio: model outputs once, then a grid of post-processing.

Runs in its own environment (``.venv-basic-pitch``; basic-pitch installed with
``--no-deps`` plus onnxruntime, pretty_midi and resampy, never tensorflow), so
its dependencies cannot disturb reamend's. ``reamend bench transcribe`` calls it
as a subprocess and reads one JSON per audio file::

    {"duration_s", "inference_s", "notes": {"<setting>": [[pitch, start_s, end_s, velocity], ...]}}

Settings are named ``on<onset>_fr<frame>_len<ms>_mel<0|1>``; the default of
basic-pitch's ``predict`` is ``on0.5_fr0.3_len127.7_mel1``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import time
from pathlib import Path

ONSETS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FRAMES = (0.2, 0.3, 0.4, 0.5)
LENGTHS_MS = (58.0, 127.7)
MELODIA = (True, False)
DEFAULT = "on0.5_fr0.3_len127.7_mel1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import numpy as np
    import soundfile as sf
    from basic_pitch import ICASSP_2022_MODEL_PATH
    from basic_pitch.constants import AUDIO_SAMPLE_RATE, FFT_HOP
    from basic_pitch.inference import Model, run_inference
    from basic_pitch.note_creation import model_output_to_notes

    started = time.perf_counter()
    model = Model(ICASSP_2022_MODEL_PATH)
    load_s = time.perf_counter() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(args.files):
        target = args.out_dir / f"{path.stem}.json"
        if target.exists():
            continue
        t0 = time.perf_counter()
        output = run_inference(path, model)
        inference_s = time.perf_counter() - t0
        notes = {}
        for onset, frame, length_ms, melodia in itertools.product(ONSETS, FRAMES, LENGTHS_MS, MELODIA):
            min_len = int(np.round(length_ms / 1000 * (AUDIO_SAMPLE_RATE / FFT_HOP)))
            _, events = model_output_to_notes(output, onset_thresh=onset, frame_thresh=frame, min_note_len=min_len,
                                              melodia_trick=melodia, include_pitch_bends=False)
            name = f"on{onset}_fr{frame}_len{length_ms}_mel{int(melodia)}"
            notes[name] = [[int(p), float(s), float(e), round(127 * float(a))] for s, e, p, a, _ in events]
        info = sf.info(str(path))
        record = {"duration_s": info.frames / info.samplerate, "inference_s": inference_s,
                  "model_load_s": load_s if index == 0 else None, "notes": notes}
        target.write_text(json.dumps(record))


if __name__ == "__main__":
    main()
