"""Training the transcriber: resumable, single-threaded, on cached synthesized shards.

``train`` keeps going until ``max_steps`` or ``max_minutes``; it checkpoints
(model, optimizer, step, best score) to ``checkpoint`` every few minutes so a
killed run resumes where it stopped, and whenever the validation score on the
held-out *selection* pieces improves it exports the model to the weights folder
and records its sha256 in the manifest. The benchmark uses different held-out
pieces than selection, so the reported numbers are not tuned on.
When fewer shards exist than ``target_shards`` (FluidR3), ``freepats_shards``
(FreePats), ``low_shards`` (music transposed into the bass), ``restrike_shards``
(keys re-struck while they ring), ``additive_shards`` (procedural pianos) or ``mda_shards`` (the
mda Piano), it renders one more between steps, so a single command reproduces everything from nothing.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from models.registry import save_checkpoint, update_manifest
from models.transcribe import dataset
from models.transcribe.decode import RULE_DECODING, DecodeSettings, decode
from models.transcribe.evaluate import mean_scores, notes_matrix, score, selection_objective
from models.transcribe.features import normalize_peak
from models.transcribe.labels import make_targets
from models.transcribe.network import ARCH, HarmonicOnsetsFrames, HeadOutputs
from models.transcribe.transcriber import predict

log = logging.getLogger(__name__)

MODEL_NAME = "transcribe-piano"
#: The network's settings; ``channels`` comes from :attr:`TrainConfig.channels`.
MODEL_CONFIG: dict[str, Any] = {"bins_per_semitone": 2, "dilations": [1, 2, 4, 8, 16], "frame_dilations": [1, 4],
                                "dropout": 0.1}
SELECTION_PIECES = 8
ONSET_POS_WEIGHT = 4.0
VALIDATION_PIECES = 32
#: The training loop's validation decoding: the fixed octave-ghost rule at run 10's thresholds, so loop scores
#: stay comparable from run to run (a ghost rescorer is fitted to a finished network, after training).
LOOP_DECODING = RULE_DECODING


@dataclass(frozen=True)
class TrainConfig:
    cache_dir: Path
    checkpoint: Path
    weights: Path
    target_shards: int = 40
    #: Shards rendered with the FreePats pianos (TiMidity++), beside the FluidR3 ones.
    freepats_shards: int = 0
    #: Shards of music transposed down into the bass ("low" source), beside the others.
    low_shards: int = 0
    #: Shards of re-struck ringing keys ("restrike" source: repeated notes under the pedal, legato re-strikes).
    restrike_shards: int = 0
    #: Shards on procedural pianos, a new random instrument per item ("additive" source).
    additive_shards: int = 0
    #: Shards on the mda Piano (SuperCollider), a new random voicing per item ("mda" source).
    mda_shards: int = 0
    batch: int = 8
    crop_frames: int = 256
    lr: float = 2e-3
    lr_half_life_steps: float = 4000.0
    anneal_start_step: int = 1250
    anneal_half_life_steps: float = 300.0
    max_steps: int = 2000
    #: Channels of the pitch layers, the harmonic and context layers and the per-key trunk. The shipped
    #: model has 24 in the middle; the runs it was fine-tuned from had 16 (``--init-weights`` widens).
    channels: tuple[int, int, int] = (8, 24, 24)
    #: Spectrogram planes: 1 (2048-point window) or 2 (plus the 8192-point one; shards in ``train-2ch/``).
    #: From a one-plane checkpoint, ``init_weights`` adds the second plane with zero weight.
    input_channels: int = 2
    max_minutes: float = 1e9
    eval_every: int = 250
    save_every_s: float = 180.0
    build_every: int = 25
    seed: int = 0
    #: Start a fresh run (no checkpoint yet) from these weights instead of random ones: a fine-tune.
    init_weights: Path | None = None
    #: Also keep the weights of every validation step (``<checkpoint dir>/snapshots/``), to compare
    #: them later under another decoding.
    keep_snapshots: bool = False
    #: Torch threads for the forward and backward passes. 1 leaves the other core free for work beside a
    #: long run; 2 takes run 11's steps (16 28 28 channels, batch 8) from about 2.3 s to 1.6 s on an
    #: otherwise idle 2-core machine.
    threads: int = 1
    #: Run the forward pass under bfloat16 autocast (weights, gradients and the loss stay float32). On a
    #: CPU with native bfloat16 (AVX512-BF16, e.g. AMD Zen 4) a step takes about half the time; on
    #: run 11's weights and real batches the gradient's cosine similarity with float32's was 0.9996 or more.
    #: Elsewhere bfloat16 is emulated and slower: leave it off.
    bf16: bool = False


class _Batcher:
    """Random crops from the loaded items, with cheap spectral augmentation."""

    def __init__(self, items: list[dataset.Item], crop_frames: int, rng: np.random.Generator) -> None:
        self.items = items
        self.crop = crop_frames
        self.rng = rng
        lengths = np.array([max(1, i.features.shape[0] - crop_frames) for i in items], dtype=float)
        self.weights = lengths / lengths.sum()

    def batch(self, size: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        feats, targets = [], []
        n_bins = self.items[0].features.shape[-1]
        for index in self.rng.choice(len(self.items), size=size, p=self.weights):
            item = self.items[int(index)]
            start = int(self.rng.integers(0, max(1, item.features.shape[0] - self.crop)))
            crop = item.features[start:start + self.crop].astype(np.float32)
            if crop.shape[0] < self.crop:
                padding = ((0, self.crop - crop.shape[0]),) + ((0, 0),) * (crop.ndim - 1)
                crop = np.pad(crop, padding, constant_values=float(crop.min()))
            feats.append(crop + self._spectral_tilt(n_bins))
            targets.append(make_targets(item.notes, start_frame=start, n_frames=self.crop))
        stacked = {name: np.stack([getattr(t, name) for t in targets]) for name in
                   ("onset", "offset", "frame", "velocity")}
        return np.stack(feats), stacked

    def _spectral_tilt(self, n_bins: int) -> np.ndarray:
        """A smooth random curve over frequency (log-power units): another piano's or mic's colour."""
        bins = np.arange(n_bins)
        curve = np.full(n_bins, self.rng.uniform(-1.0, 1.0), dtype=np.float32)
        for _ in range(3):
            centre, width = self.rng.uniform(0, n_bins), self.rng.uniform(10, 60)
            curve += self.rng.uniform(-1.2, 1.2) * np.exp(-0.5 * ((bins - centre) / width) ** 2)
        return curve.astype(np.float32)


def _as_float32(outputs: HeadOutputs) -> HeadOutputs:
    """The heads in float32 (they come out in bfloat16 under autocast): the loss of rare onsets needs the
    precision."""
    return HeadOutputs(**{f.name: getattr(outputs, f.name).float() for f in fields(outputs)})


def _loss(outputs: Any, targets: dict[str, Any]) -> tuple[Any, dict[str, float]]:
    import torch
    from torch.nn import functional as F

    # Onsets and offsets are rare (about 1 frame in 1000 per key): weighting positives
    # makes the sparse heads learn within the few thousand steps a CPU budget allows.
    weight = torch.tensor(ONSET_POS_WEIGHT)
    onset = F.binary_cross_entropy_with_logits(outputs.onset, targets["onset"], pos_weight=weight)
    offset = F.binary_cross_entropy_with_logits(outputs.offset, targets["offset"], pos_weight=weight)
    frame = F.binary_cross_entropy_with_logits(outputs.frame, targets["frame"])
    mask = targets["onset"]
    velocity = (mask * (outputs.velocity - targets["velocity"]) ** 2).sum() / mask.sum().clamp(min=1.0)
    total = onset + offset + frame + velocity
    parts = {"onset": onset.item(), "offset": offset.item(), "frame": frame.item(), "velocity": velocity.item()}
    return total, {**parts, "total": total.item()}


def evaluate_pieces(model: Any, pieces: list[dataset.ValidationPiece], conditions: tuple[str, ...],
                    settings: DecodeSettings | None = None) -> dict[str, dict[str, float]]:
    """Mean mir_eval scores per condition of the model on validation pieces."""
    results = {}
    for condition in conditions:
        scores = []
        for piece in pieces:
            audio = dataset.validation_audio_16k(piece.audio[condition])
            posteriors = predict(model, normalize_peak(audio))
            scores.append(score(dataset.read_truth(piece.notes), notes_matrix(decode(posteriors, settings))))
        results[condition] = mean_scores(scores)
    return results


def _lr(config: TrainConfig, step: int) -> float:
    """Short warm-up, slow exponential decay, then a faster anneal for the last steps."""
    warmup = min(1.0, (step + 1) / 40)
    anneal = max(0, step - config.anneal_start_step) / config.anneal_half_life_steps
    return max(3e-5, config.lr * warmup * math.pow(0.5, step / config.lr_half_life_steps + anneal))


def model_config(config: TrainConfig) -> dict[str, Any]:
    """The network's constructor arguments for this run (stored in every checkpoint)."""
    return {**MODEL_CONFIG, "channels": list(config.channels), "input_channels": config.input_channels}


def export_weights(model: Any, config: TrainConfig, *, step: int, scores: dict[str, Any]) -> None:
    """Write the shippable weights (no optimizer) and record their checksum."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save_checkpoint(config.weights, ARCH, model_config(config), state, step=step)
    summary = {c: {k: round(v, 4) for k, v in r.items() if k.endswith("f1")} for c, r in scores.items()}
    update_manifest(MODEL_NAME, config.weights, extra={"arch": ARCH, "step": step, "selection_f1": summary},
                    manifest_path=config.weights.parent / "manifest.json")


def train(config: TrainConfig) -> dict[str, Any]:
    """Train (or resume) until a step or time limit; return the final state summary."""
    import torch

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model = HarmonicOnsetsFrames(**model_config(config))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    step, best = 0, -1.0
    if config.checkpoint.exists():
        state = torch.load(config.checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best"])
        log.info("resumed from %s at step %d (best %.4f)", config.checkpoint, step, best)
    elif config.init_weights is not None:
        initial = torch.load(config.init_weights, map_location="cpu", weights_only=True)["state_dict"]
        model.load_state_dict(widened_state(initial, model.state_dict()))
        log.info("fine-tuning from %s", config.init_weights)
    rng = np.random.default_rng([config.seed, step])  # a resumed run draws the same crops every time
    pieces = dataset.build_validation(config.cache_dir, count=VALIDATION_PIECES)[:SELECTION_PIECES]
    shard_count = -1
    batcher: _Batcher | None = None
    started = last_save = time.monotonic()
    history: list[dict[str, float]] = []

    def save() -> None:
        save_checkpoint(config.checkpoint, ARCH, model_config(config), model.state_dict(),
                        optimizer=optimizer.state_dict(), step=step, best=best, train_config=_plain(config))

    while step < config.max_steps and (time.monotonic() - started) / 60 < config.max_minutes:
        shards = _shards(config)
        missing = [source for source, count in wanted_shards(config).items() if len(shards[source]) < count]
        if missing and (not any(shards.values()) or step % config.build_every == 0):
            dataset.build_shard(len(shards[missing[0]]), cache_dir=config.cache_dir, source=missing[0],
                                input_channels=config.input_channels)
            shards = _shards(config)
        if sum(map(len, shards.values())) != shard_count:
            shard_count = sum(map(len, shards.values()))
            batcher = _Batcher(list(dataset.iter_items([p for paths in shards.values() for p in paths])),
                               config.crop_frames, rng)
            log.info("training on %d shards (%d items)", shard_count, len(batcher.items))
        assert batcher is not None
        model.train()
        features, targets = batcher.batch(config.batch)
        for group in optimizer.param_groups:
            group["lr"] = _lr(config, step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            outputs = model(torch.from_numpy(features))
        loss, parts = _loss(_as_float32(outputs), {k: torch.from_numpy(v) for k, v in targets.items()})
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 3.0)
        optimizer.step()
        step += 1
        history.append(parts)
        if step % 25 == 0:
            mean = {k: float(np.mean([h[k] for h in history])) for k in history[0]}
            history.clear()
            log.info("step %d lr %.2e loss %s", step, _lr(config, step), {k: round(v, 4) for k, v in mean.items()})
        if step % config.eval_every == 0:
            model.eval()
            results = evaluate_pieces(model, pieces, ("clean", "tape"), LOOP_DECODING)
            selection = float(np.mean([selection_objective(r) for r in results.values()]))
            log.info("step %d selection %.4f %s", step, selection,
                     {c: {k: round(v, 3) for k, v in r.items() if k.endswith("f1")} for c, r in results.items()})
            if selection > best:
                best = selection
                export_weights(model, config, step=step, scores=results)
                log.info("exported weights at step %d", step)
            if config.keep_snapshots:
                weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                save_checkpoint(config.checkpoint.parent / "snapshots" / f"step-{step:05d}.pt", ARCH,
                                model_config(config), weights, step=step, selection=selection)
            save()
            last_save = time.monotonic()
        elif time.monotonic() - last_save > config.save_every_s:
            save()
            last_save = time.monotonic()
    save()
    return {"step": step, "best_selection": best}


def join_ensemble(members: list[Path], out: Path) -> dict[str, Any]:
    """Write one :class:`~models.transcribe.network.OnsetsFramesEnsemble` weight file from trained networks'
    weight files (their probabilities are averaged at inference) and record it in the manifest beside ``out``.

    The members' own weight files are not needed afterwards: the ensemble file holds every member's weights.
    """
    from models.registry import load_checkpoint_file, sha256_of
    from models.transcribe.network import ENSEMBLE_ARCH

    configs: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    provenance = []
    for index, path in enumerate(members):
        payload = load_checkpoint_file(path)
        if payload["arch"] != ARCH:
            raise ValueError(f"{path} is a {payload['arch']}, not a {ARCH}: only single networks can be joined")
        configs.append(payload["config"])
        state.update({f"members.{index}.{k}": v for k, v in payload["state_dict"].items()})
        provenance.append({"file": path.name, "sha256": sha256_of(path), "step": payload.get("step")})
    save_checkpoint(out, ENSEMBLE_ARCH, {"members": configs}, state)
    update_manifest(MODEL_NAME, out, extra={"arch": ENSEMBLE_ARCH, "members": provenance},
                    manifest_path=out.parent / "manifest.json")
    return {"weights": str(out), "members": len(members), "sha256": sha256_of(out)}


#: Convolutions whose last input channel is an appended plane (key position, onset probability), not a
#: feature map of the layer before: when that layer widens, the plane stays the last input.
_APPENDED_PLANE_INPUTS = ("harmonic.0.weight", "to_keys.0.weight", "frame_in.0.weight")


def widened_state(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A state dict for a wider model (``new``: its freshly initialized state) that computes exactly
    what ``old`` computed.

    Each old tensor fills the leading channels; the extra output channels keep their random
    initialization, but every old channel's weights from the extra inputs are zero, so the
    extra channels start with no influence on the heads and grow one as training goes. This lets
    a wider trunk start from trained weights (minutes) instead of from scratch (hours). A second
    input plane (the long-window spectrogram) is added the same way: zero weight into ``local``.
    """
    pitch_old, pitch_new = old["local.0.weight"].shape[0], new["local.0.weight"].shape[0]
    result = {}
    for name, fresh in new.items():
        before = old[name]
        if before.shape == fresh.shape:
            result[name] = before.clone()
            continue
        if fresh.dim() != before.dim() or any(b > f for b, f in zip(before.shape, fresh.shape, strict=True)):
            raise ValueError(f"cannot widen {name} from {tuple(before.shape)} to {tuple(fresh.shape)}")
        grown = fresh.clone()
        if fresh.dim() == 4:  # (out, in, kernel_t, kernel_f)
            out_old, in_old = before.shape[:2]
            grown[:out_old] = 0.0
            if name == "harmonic.0.weight" and pitch_old != pitch_new:
                # The harmonic stack's input is one group of pitch channels per partial shift (then
                # the key position): each old group moves to the start of its wider group.
                for group in range((in_old - 1) // pitch_old):
                    grown[:out_old, group * pitch_new:group * pitch_new + pitch_old] = \
                        before[:, group * pitch_old:(group + 1) * pitch_old]
                grown[:out_old, -1] = before[:, -1]
            elif name.endswith(_APPENDED_PLANE_INPUTS) and in_old != fresh.shape[1]:
                grown[:out_old, :in_old - 1] = before[:, :-1]
                grown[:out_old, -1] = before[:, -1]
            else:
                grown[:out_old, :in_old] = before
        else:  # biases and batch-norm parameters and statistics, per channel
            grown[:before.shape[0]] = before
        result[name] = grown
    return result


def wanted_shards(config: TrainConfig) -> dict[str, int]:
    """How many shards of each training source the run uses (rendering any that are missing)."""
    return {"fluidr3": config.target_shards, "freepats": config.freepats_shards, "low": config.low_shards,
            "restrike": config.restrike_shards, "additive": config.additive_shards,
            "mda": config.mda_shards}


def _shards(config: TrainConfig) -> dict[str, list[Path]]:
    """The rendered shards training uses, by source (at most the wanted number of each)."""
    return {source: dataset.existing_shards(config.cache_dir, source, config.input_channels)[:count]
            for source, count in wanted_shards(config).items()}


def _plain(config: TrainConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
