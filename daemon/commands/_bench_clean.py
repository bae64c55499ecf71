"""Benchmark the clean job on held-out episodes against an energy cutter and silero-vad."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from daemon.console import CliContext, make_table

REPO = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path, default=REPO / "data-cache" / "clean",
                        help="where the held-out validation episodes are cached (rendered if missing)")
    parser.add_argument("--episodes", type=int, default=60, help="how many held-out episodes to score")
    parser.add_argument("--draw", type=int, default=1,
                        help="which held-out draw to score: 1 is the original 60 episodes; 2 and on are "
                             "further independent sets of --episodes episodes from the same held-out material")
    parser.add_argument("--tuning-set", action="store_true",
                        help="score the tuning episodes (training voices, new seeds) instead of the held-out ones")
    parser.add_argument("--unseen-voices", action="store_true",
                        help="score the unheard-voice check episodes (four voices of other synthesizers and "
                             "languages that no detector trains on) instead of the held-out ones")
    parser.add_argument("--no-silero", action="store_true", help="skip the silero-vad baseline")
    parser.add_argument("--long-minutes", type=float, default=0.0,
                        help="also time a full 'reamend clean' on a synthesized 48 kHz stereo file this long "
                             "(speed and peak memory); 180 = the issue's 3-hour case")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the timed runs")


def _systems(args: argparse.Namespace) -> list[tuple[str, Any]]:
    from models.clean import bench
    from models.clean.pipeline import load_detector

    systems: list[tuple[str, Any]] = [
        ("reamend clean", bench.our_system(load_detector(device="cpu"), bench.bench_settings())),
        ("energy -35 dB", bench.energy_cutter),
    ]
    if not args.no_silero:
        try:
            from silero_vad import load_silero_vad
        except ImportError:
            return systems
        vad = load_silero_vad()
        systems.append(("silero 0.5", bench.silero_cutter(vad, threshold=0.5)))
        systems.append(("silero 0.3", bench.silero_cutter(vad, threshold=0.3)))
    return systems


def _long_file_run(minutes: float, audio: Any, threads: int, ctx: CliContext) -> dict[str, Any]:
    """Build a long 48 kHz stereo file from held-out episodes and time the real CLI on it."""
    import numpy as np
    import soundfile as sf
    import soxr

    with tempfile.TemporaryDirectory(prefix="reamend-bench-") as tmp:
        path = Path(tmp) / "long.wav"
        seconds = minutes * 60
        piece = np.concatenate(list(audio))
        piece48 = soxr.resample(piece, 16000, 48000).astype(np.float32)
        stereo = np.stack([piece48, 0.8 * piece48], axis=1)
        ctx.info(f"writing a {minutes:g}-minute 48 kHz stereo test file")
        with sf.SoundFile(str(path), "w", samplerate=48000, channels=2, subtype="PCM_16") as handle:
            written = 0
            while written < seconds * 48000:
                take = int(min(stereo.shape[0], seconds * 48000 - written))
                handle.write(stereo[:take])
                written += take
        del piece, piece48, stereo  # the timed run must not share this process's pages
        env_threads = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        command = [sys.executable, "-m", "daemon.cli", "--quiet", "--json", "clean", str(path),
                   "--out", str(Path(tmp) / "out")]
        if shutil.which("taskset"):  # pin to `threads` cores, as the target says "on 2 CPU cores"
            command = ["taskset", "-c", ",".join(str(i) for i in range(threads)), *command]
        started = time.perf_counter()
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **env_threads}, cwd=REPO) as child:
            peak_bytes = _watch_peak_rss(child)
            stdout, stderr = child.communicate()
        elapsed = time.perf_counter() - started
        if child.returncode != 0:
            raise RuntimeError(f"clean failed on the long file: {stderr.strip()[-500:]}")
        summary = json.loads(stdout)["summary"]
    return {"audio_s": seconds, "wall_s": round(elapsed, 1), "times_real_time": round(seconds / elapsed, 1),
            "peak_rss_mb": round(peak_bytes / 2**20, 1), "threads": threads,
            "removed_s": summary.get("removed_s")}


def _watch_peak_rss(child: subprocess.Popen[str]) -> int:
    """Peak resident memory of ``child`` (and its children), sampled every 50 ms.

    ``getrusage`` cannot be used: a forked child's maximum includes the pages it
    shared with this (large) parent before ``exec``.
    """
    import psutil

    peak = 0
    try:
        process = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
            except psutil.Error:
                break
            peak = max(peak, rss)
            time.sleep(0.05)
    except psutil.Error:
        pass
    return peak


def _episode_set(args: argparse.Namespace) -> tuple[Path, str]:
    """The episodes to score (rendered the first time) and what they are, for the output."""
    from models.clean.training import TrainConfig, ensure_tuning_set, ensure_unseen_voice_set, ensure_validation_set
    from models.errors import UserInputError

    config = TrainConfig(cache_dir=args.cache_dir, checkpoint=REPO / "training" / "clean" / "last.pt")
    if args.draw < 1:
        raise UserInputError(f"--draw must be 1 or more, not {args.draw}")
    if args.tuning_set and args.unseen_voices:
        raise UserInputError("--tuning-set and --unseen-voices are two different episode sets: choose one")
    if (args.tuning_set or args.unseen_voices) and args.draw != 1:
        raise UserInputError("--draw chooses a held-out draw; it does not apply to the check sets")
    if args.tuning_set:
        return ensure_tuning_set(config), "tuning"
    if args.unseen_voices:
        return ensure_unseen_voice_set(config), "unheard-voice"
    return ensure_validation_set(config, draw=args.draw, episodes=args.episodes), f"held-out (draw {args.draw})"


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import torch

    from models.clean import bench
    from models.clean.training import load_validation_set

    torch.set_num_threads(args.threads)
    episodes_path, kind = _episode_set(args)
    audio, labels = load_validation_set(episodes_path)
    audio, labels = audio[: args.episodes], labels[: args.episodes]
    minutes = audio.shape[0] * audio.shape[1] / 16000 / 60
    ctx.info(f"scoring {len(audio)} {kind} episodes ({minutes:.1f} min)")
    results = [bench.score(name, system, list(audio), list(labels)) for name, system in _systems(args)]
    rows = []
    for s in results:
        rows.append((s.name, _f(s.precision), _f(s.recall), _f(s.recall_by_class["long pause"]),
                     _f(s.recall_by_class["breath"]), _f(s.recall_by_class["click"]),
                     _f(s.recall_by_class["bump"]), _f(s.recall_by_class["noise"]),
                     f"{100 * s.speech_removed:.3f}%", f"{100 * s.short_pauses_removed:.2f}%",
                     f"{s.times_real_time:.0f}"))
    payload: dict[str, Any] = {"episodes": len(audio), "set": kind,
                               "systems": [
        {"name": s.name, "precision": s.precision, "recall": s.recall,
         "precision_interval": list(s.precision_interval), "recall_interval": list(s.recall_interval),
         "recall_by_class": s.recall_by_class,
         "missed_share_by_class": s.missed_share_by_class,
         "speech_removed": s.speech_removed, "short_pauses_removed": s.short_pauses_removed,
         "times_real_time": s.times_real_time, "episode_counts": [list(c) for c in s.episode_counts],
         "class_counts": {k: list(c) for k, c in s.class_counts.items()}}
        for s in results]}
    if args.long_minutes > 0:
        payload["long_file"] = _long_file_run(args.long_minutes, audio, args.threads, ctx)

    def render() -> None:
        ctx.out.print(make_table(
            f"clean benchmark: {len(audio)} {kind} episodes",
            ("system", "P", "R", "pause R", "breath R", "click R", "bump R", "noise R", "speech cut",
             "short cut", "xRT"), rows))
        ctx.out.print(make_table("remove class, 95 % intervals over episodes (percentile bootstrap)",
                                 ("system", "precision", "recall"),
                                 [(s.name, f"{_f(s.precision)} ({_f(s.precision_interval[0])}-"
                                           f"{_f(s.precision_interval[1])})",
                                   f"{_f(s.recall)} ({_f(s.recall_interval[0])}-{_f(s.recall_interval[1])})")
                                  for s in results]))
        if "long_file" in payload:
            ctx.out.print(make_table("full job on a long 48 kHz stereo file", ("field", "value"),
                                     list(payload["long_file"].items())))

    ctx.emit(payload, render)
    return 0


def _f(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"
