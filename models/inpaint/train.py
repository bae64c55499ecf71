"""Training the gap model on synthesized material, resumable from ``training/inpaint/last.pt``.

Each example is a random ~3 s excerpt of a training clip at a random level with
one gap of 40 ms to 1 s; the loss is the L1 + L2 error of log magnitudes on the
gap's frames only, which is what the log-spectral distance measures, optionally
plus a term on each band's mean power over the gap (``power_weight``): a log-magnitude
loss alone predicts a bin's median level, below its mean power, so fills sound quieter
than their surroundings, or a structural-similarity term on band energies around the gap
(``ssim_weight``), which rewards the local contrast a per-bin loss smooths away, or an
adversarial term from a band-spectrogram discriminator (``adversarial_weight``,
:mod:`models.inpaint.adversarial`). With ``janssen_input`` the network also reads a Janssen
AR fill of short gaps. The shipped weights were trained with none of these terms nor that
input (see docs/inpaint.md for why).
The run checkpoints every few minutes and resumes exactly where it stopped, so
a session ending mid-run loses minutes, not the run.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.inpaint.dataset import Clip, freepats_clips, mda_clips, music_clips, speech_clips
from models.inpaint.stft import REFERENCE_N_FFT, REFERENCE_SR
from models.progress import ProgressFn, no_progress
from models.registry import WEIGHTS_DIR, save_checkpoint, update_manifest

log = logging.getLogger(__name__)

ARCH = "inpaint.SpectralGapNet"
MODEL_NAME = "inpaint-gapnet"
HOP = REFERENCE_N_FFT // 4


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 4_000
    batch: int = 12
    frames: int = 256
    lr: float = 1e-3
    music_clips: int = 100
    speech_clips: int = 40
    #: Clips of generated music on the FreePats pianos, pooled with the FluidR3 ones (a second piano).
    freepats_clips: int = 0
    #: Clips of generated music on the mda Piano (a third piano, random voicing per clip), pooled likewise.
    mda_clips: int = 0
    speech_share: float = 0.25
    min_gap_s: float = 0.04
    max_gap_s: float = 1.0
    checkpoint_every_s: float = 180.0
    seed: int = 0
    #: Step at which this stage's one-cycle learning-rate schedule starts: a later stage resumed from
    #: the previous stage's checkpoint warms up and anneals again over ``steps - schedule_from`` steps.
    schedule_from: int = 0
    hidden: int = 160
    copy_input: bool = True
    #: Random spectral tilt (natural-log magnitude per e-fold of frequency): the model must not
    #: learn one soundfont's timbre.
    tilt_augment: float = 0.5
    #: Share of speech examples seen as at 16 kHz or 8 kHz (a quarter of that share for music): the
    #: bins above the Nyquist frequency at the floor, as :mod:`models.inpaint.spectral` pads them.
    band_limit_share: float = 0.0
    #: Weight of :func:`band_power_loss` (0 = log magnitudes only, as stages 1-4 trained).
    power_weight: float = 0.0
    #: Log-spaced frequency bands the power term compares (see :func:`power_band_edges`).
    power_bands: int = 16
    #: Weight of :func:`band_ssim_loss` (0 = off, as the shipped weights trained).
    ssim_weight: float = 0.0
    #: Show the network a Janssen AR fill of gaps up to ``janssen_max_gap_s`` (see
    #: :class:`models.inpaint.network.SpectralGapNet`); a checkpoint trained without one is widened.
    janssen_input: bool = False
    janssen_max_gap_s: float = 0.16
    #: Weight of the adversarial term (:func:`models.inpaint.adversarial.generator_loss`; 0 = off,
    #: as the shipped weights trained).
    adversarial_weight: float = 0.0


def log_magnitude(audio: Any) -> Any:
    """``(B, samples)`` float tensor → ``(B, bins, frames)`` log magnitudes on the reference grid."""
    import torch

    from models.inpaint.network import LOG_FLOOR

    window = torch.hann_window(REFERENCE_N_FFT, dtype=audio.dtype, device=audio.device)
    spec = torch.stft(audio, REFERENCE_N_FFT, HOP, window=window, center=True, return_complex=True)
    return torch.log(spec.abs() + LOG_FLOOR)


@dataclass(frozen=True)
class Batch:
    """``audio`` (B, samples), ``mask`` (B, frames) 1 = missing, ``copy_audio`` (B, samples): the
    best similarity copy aligned so its passage sits where the gap is, ``copy_score`` (B,), 0 = none;
    ``speech`` (B,) bool; ``janssen_audio`` (B, samples) the excerpt with its gap filled by Janssen
    AR interpolation, where ``janssen_given`` (B,) is 1."""

    audio: Any
    mask: Any
    copy_audio: Any
    copy_score: Any
    speech: Any
    janssen_audio: Any
    janssen_given: Any


class ExampleSampler:
    """Random excerpts with one gap each; deterministic for a given seed and step."""

    def __init__(self, music: list[Clip], speech: list[Clip], config: TrainConfig) -> None:
        self.music = [c for c in music if len(c.samples) > config.frames * HOP]
        self.speech = [c for c in speech if len(c.samples) > config.frames * HOP]
        self.config = config
        self._features: dict[str, Any] = {}

    def batch(self, step: int, *, seed_offset: int = 0) -> Batch:
        import torch

        cfg = self.config
        rng = np.random.default_rng([cfg.seed + seed_offset, step])
        length = (cfg.frames - 1) * HOP
        audio = np.zeros((cfg.batch, length), dtype=np.float32)
        copy_audio = np.zeros((cfg.batch, length), dtype=np.float32)
        copy_score = np.zeros(cfg.batch, dtype=np.float32)
        mask = np.zeros((cfg.batch, cfg.frames), dtype=np.float32)
        speech = np.zeros(cfg.batch, dtype=bool)
        janssen_audio = np.zeros((cfg.batch, length), dtype=np.float32)
        janssen_given = np.zeros(cfg.batch, dtype=np.float32)
        for row in range(cfg.batch):
            pool = self.speech if (self.speech and rng.random() < cfg.speech_share) else self.music
            speech[row] = pool is self.speech
            clip = pool[int(rng.integers(len(pool)))]
            samples = clip.samples
            for _ in range(8):  # avoid silent excerpts: they teach nothing
                start = int(rng.integers(0, len(samples) - length))
                excerpt = samples[start : start + length]
                if np.sqrt(np.mean(excerpt**2)) > 1e-3:
                    break
            gain = np.float32(10 ** (rng.uniform(-15, 6) / 20))
            audio[row] = excerpt * gain
            gap_s = float(np.exp(rng.uniform(np.log(cfg.min_gap_s), np.log(cfg.max_gap_s))))
            gap_frames = round(gap_s * REFERENCE_SR / HOP) + 4  # + frames the window edges touch
            gap_frames = min(gap_frames, cfg.frames - 40)
            first = int(rng.integers(20, cfg.frames - 20 - gap_frames + 1))
            mask[row, first : first + gap_frames] = 1.0
            if cfg.copy_input:
                copy_audio[row], copy_score[row] = self._copy_for(clip, start, first, gap_frames, length)
                copy_audio[row] *= gain
            if cfg.janssen_input and gap_s <= cfg.janssen_max_gap_s:
                janssen_audio[row] = self._janssen_for(clip, start, first, gap_frames, length) * gain
                janssen_given[row] = 1.0
        return Batch(audio=torch.from_numpy(audio), mask=torch.from_numpy(mask),
                     copy_audio=torch.from_numpy(copy_audio), copy_score=torch.from_numpy(copy_score),
                     speech=torch.from_numpy(speech), janssen_audio=torch.from_numpy(janssen_audio),
                     janssen_given=torch.from_numpy(janssen_given))

    @staticmethod
    def _gap_samples(start: int, first: int, gap_frames: int) -> tuple[int, int]:
        """The clip samples the gap frames ``first..first+gap_frames`` of an excerpt at ``start`` stand
        for (minus the 2 frames each window edge touches)."""
        g0 = start + (first + 2) * HOP
        return g0, max(g0 + HOP, start + (first + gap_frames - 2) * HOP)

    def _janssen_for(self, clip: Clip, start: int, first: int, gap_frames: int, length: int) -> np.ndarray:
        """The excerpt with its gap filled by Janssen AR interpolation from the whole clip, as at inference."""
        from models.ar import janssen_interpolate

        g0, g1 = self._gap_samples(start, first, gap_frames)
        filled = clip.samples[start : start + length].astype(np.float64)
        filled[g0 - start : g1 - start] = janssen_interpolate(clip.samples, g0, g1)  # it reads only the context
        return filled.astype(np.float32)

    def _copy_for(self, clip: Clip, start: int, first: int, gap_frames: int, length: int) -> tuple[np.ndarray, float]:
        """The similarity copy for the gap, found exactly as at inference (the gap's samples unknown)."""
        from models.inpaint.similarity import aligned_copy, band_features, find_similar

        x = clip.samples.astype(np.float64)
        if clip.name not in self._features:
            self._features[clip.name] = band_features(x, REFERENCE_SR)
        g0, g1 = self._gap_samples(start, first, gap_frames)
        known = np.ones(len(x), dtype=bool)
        known[g0:g1] = False
        match = find_similar(x, REFERENCE_SR, g0, g1, known=known, features=self._features[clip.name])
        if match is None:
            return np.zeros(length, dtype=np.float32), 0.0
        shift = match.source_start - g0
        return aligned_copy(x, start, length, shift, match.gain).astype(np.float32), float(max(match.score, 0.0))


def tilt(log_mag: Any, amount: Any) -> Any:
    """Add ``amount[b] * ln(f / 1 kHz)`` to every bin: a random EQ slope per example."""
    import torch

    freqs = torch.arange(log_mag.shape[1], dtype=log_mag.dtype) * (REFERENCE_SR / REFERENCE_N_FFT)
    slope = torch.log(freqs.clamp(min=50.0) / 1000.0)
    return log_mag + amount.view(-1, 1, 1) * slope.view(1, -1, 1)


def band_limits(speech: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Bins kept per example ``(B,)``: all of them, or (``share`` of speech, ``share / 4`` of music)
    those below the Nyquist frequency of 16 kHz (3 in 4) or 8 kHz material."""
    from models.inpaint.stft import MODEL_BINS, StftGrid

    narrow = rng.random(len(speech)) < np.where(speech, share, share / 4)
    rate = np.where(rng.random(len(speech)) < 0.75, 16_000, 8_000)
    bins = np.array([StftGrid.for_rate(int(sr)).n_fft // 2 + 1 for sr in rate])
    return np.where(narrow, bins, MODEL_BINS)


def band_limited(log_mag: Any, keep: np.ndarray) -> Any:
    """``(B, F, T)`` log magnitudes with bins ``keep[b]`` and up at the floor, as for band-limited input."""
    import torch

    from models.inpaint.network import LOG_FLOOR

    above = torch.arange(log_mag.shape[1]).view(1, -1, 1) >= torch.from_numpy(keep).view(-1, 1, 1)
    return torch.where(above, torch.full_like(log_mag, float(np.log(LOG_FLOOR))), log_mag)


def gap_loss(prediction: Any, target: Any, mask: Any) -> Any:
    """L1 + ½·L2 of log magnitudes over masked frames, averaged over those frames and bins."""
    gate = mask.unsqueeze(1)
    error = (prediction - target) * gate
    count = gate.sum() * prediction.shape[1] + 1e-6
    return (error.abs().sum() + 0.5 * (error**2).sum()) / count


def power_band_edges(bins: int, count: int) -> list[tuple[int, int]]:
    """``count`` contiguous bin ranges ``[lo, hi)`` covering ``0..bins``, log-spaced from bin 2 (~43 Hz)."""
    inner = np.geomspace(2, bins, count + 1)[1:-1]
    edges = [0, *sorted({round(float(v)) for v in inner}), bins]
    return [(lo, hi) for lo, hi in itertools.pairwise(edges) if hi > lo]


def band_power_loss(prediction: Any, target: Any, mask: Any, *, bands: int = 16) -> Any:
    """Mean over examples of ``sum_b (bins_b / bins) * |L_pred,b - L_target,b|``.

    ``L_b`` is half the log of the mean linear power ``|X|^2`` over band ``b``'s bins
    and the gap's frames (a log RMS magnitude, in the log-magnitude loss's units), so
    the term measures whether the fill is as loud as what it replaces, per band.
    A log-magnitude loss alone pulls every bin to its median level, which for
    uncertain content (will a note sound in the gap?) is well below the mean power:
    the fill is heard as a dip. Bands weigh by their width, so the term pulls with the
    same strength per bin as the log-magnitude loss does. ``prediction``, ``target``
    (B, F, T) natural-log magnitudes; ``mask`` (B, T), 1 = gap frame.
    """
    import torch

    gap = mask.unsqueeze(1) > 0.5  # (B, 1, T)
    frames = mask.sum(dim=1).clamp(min=1.0)  # (B,)
    bins = prediction.shape[1]
    total = prediction.new_zeros(prediction.shape[0])
    for lo, hi in power_band_edges(bins, bands):
        count = torch.log(frames * (hi - lo))
        difference = _gap_band_level(prediction[:, lo:hi], gap, count) - _gap_band_level(target[:, lo:hi], gap, count)
        total = total + (hi - lo) / bins * difference.abs()
    return total.mean()


#: :func:`band_ssim_loss`: log-spaced bands, window (bands, frames), frames of context either side of the gap
#: scored, and the dynamic range of natural-log magnitudes (floor ln 1e-3 ≈ -6.9 up to ≈ +3) for SSIM's constants.
SSIM_BANDS = 48
SSIM_WINDOW = (3, 7)
SSIM_CONTEXT_FRAMES = 3
SSIM_RANGE = 10.0


def band_levels(log_mag: Any, count: int) -> Any:
    """``(B, F, T)`` natural-log magnitudes to ``(B, 1, count, T)`` log band levels: half the log of each
    :func:`power_band_edges` band's mean ``|X|^2``, an auditory-filterbank-like view of the spectrogram."""
    import torch

    levels = [0.5 * (torch.logsumexp(2.0 * log_mag[:, lo:hi], dim=1) - float(np.log(hi - lo)))
              for lo, hi in power_band_edges(log_mag.shape[1], count)]
    return torch.stack(levels, dim=1).unsqueeze(1)


def gap_region(mask: Any, context_frames: int) -> Any:
    """``(B, T)`` gap mask widened by ``context_frames`` either side: the frames a structure or
    adversarial term scores, so the seams count as well as the gap."""
    import torch.nn.functional as functional

    reach = 2 * context_frames + 1
    return functional.max_pool1d(mask.unsqueeze(1), reach, stride=1, padding=context_frames)[:, 0]


def band_ssim_loss(prediction: Any, target: Any, mask: Any) -> Any:
    """``1 - SSIM`` of log band-energy spectrograms around the gap, averaged over the windows centred there.

    Perceptual scores such as ViSQOL compare the local structure (mean, contrast and correlation)
    of auditory-band spectrogram patches, which a per-bin log-magnitude loss does not reward: its
    optimum is a smooth median. Bands are :func:`power_band_edges` (log-spaced like an auditory
    filterbank), each band's level half the log of its mean ``|X|^2``; windows straddling the
    gap's borders count too, so seams are scored as the listener hears them.
    ``prediction``, ``target`` (B, F, T) natural-log magnitudes; ``mask`` (B, T), 1 = gap frame.
    """
    import torch.nn.functional as functional

    x, y = band_levels(prediction, SSIM_BANDS), band_levels(target, SSIM_BANDS)
    pad = (SSIM_WINDOW[1] // 2, SSIM_WINDOW[1] // 2, SSIM_WINDOW[0] // 2, SSIM_WINDOW[0] // 2)

    def local_mean(value: Any) -> Any:
        return functional.avg_pool2d(functional.pad(value, pad, mode="replicate"), SSIM_WINDOW, stride=1)

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x**2
    var_y = local_mean(y * y) - mu_y**2
    cov = local_mean(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * SSIM_RANGE) ** 2, (0.03 * SSIM_RANGE) ** 2
    ssim = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    weight = gap_region(mask, SSIM_CONTEXT_FRAMES)[:, None, None, :].expand_as(ssim)
    return 1.0 - (ssim * weight).sum() / (weight.sum() + 1e-6)


def _gap_band_level(log_mag: Any, gap: Any, log_count: Any) -> Any:
    """Half the log of the mean ``|X|^2`` of one band's bins ``(B, bins, T)`` over the gap frames
    (``gap`` (B, 1, T)), ``log_count`` the log of the cells averaged: computed in the log domain."""
    import torch

    doubled = torch.where(gap, 2.0 * log_mag, torch.full_like(log_mag, -1e4))
    return 0.5 * (torch.logsumexp(doubled.flatten(1), dim=1) - log_count)


def train(
    config: TrainConfig,
    *,
    checkpoint: Path,
    weights_out: Path | None = None,
    progress: ProgressFn | None = None,
    max_minutes: float | None = None,
) -> dict[str, Any]:
    """Train (resuming from ``checkpoint`` if present); write final weights and the manifest entry."""
    import torch

    from models.inpaint.network import SpectralGapNet, add_janssen_input

    torch.set_num_threads(1)
    sink = progress or no_progress
    torch.manual_seed(config.seed)
    model = SpectralGapNet(hidden=config.hidden, copy_input=config.copy_input, janssen_input=config.janssen_input)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    critic = _Critic() if config.adversarial_weight else None
    step = 0
    history: list[float] = []
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        widen = state["state_dict"]["inp.weight"].shape[1] < model.inp.weight.shape[1]
        if widen and not config.janssen_input:
            raise ValueError(f"{checkpoint} does not fit this configuration")
        if widen:
            # A stage that adds the Janssen input starts from a model trained without one: its
            # optimizer moments do not fit the wider input, so the new stage starts them afresh.
            if int(state["step"]) != config.schedule_from:
                raise ValueError("adding the Janssen input needs a new stage: --schedule-from the checkpoint's step")
            model.load_state_dict(add_janssen_input(state["state_dict"]))
        else:
            model.load_state_dict(state["state_dict"])
            optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        history = list(state.get("history", []))
        if critic is not None and "discriminator" in state:
            critic.load_state_dict(state["discriminator"])
        log.info("resumed from %s at step %d", checkpoint, step)
    sink(0.0, "rendering training material")
    if step < config.schedule_from:
        raise ValueError(f"{checkpoint} is at step {step}: finish the stage before step {config.schedule_from} first")
    music = music_clips("train", count=config.music_clips)
    if config.freepats_clips:
        music += freepats_clips(count=config.freepats_clips)
    if config.mda_clips:
        music += mda_clips(count=config.mda_clips)
    sampler = ExampleSampler(music, speech_clips("train", count=config.speech_clips), config)
    scheduler = stage_schedule(optimizer, config, step)
    last_save = time.monotonic()
    started = time.monotonic()
    running = 0.0
    model.train()
    while step < config.steps:
        batch = sampler.batch(step)
        amount = torch.from_numpy(np.random.default_rng([config.seed, step, 1]).uniform(
            -config.tilt_augment, config.tilt_augment, config.batch).astype(np.float32))
        target = tilt(log_magnitude(batch.audio), amount)
        copy = tilt(log_magnitude(batch.copy_audio), amount) if config.copy_input else None
        janssen = tilt(log_magnitude(batch.janssen_audio), amount) if config.janssen_input else None
        if config.band_limit_share:
            keep = band_limits(batch.speech.numpy(), config.band_limit_share,
                               np.random.default_rng([config.seed, step, 2]))
            target = band_limited(target, keep)
            copy = band_limited(copy, keep) if copy is not None else None
            janssen = band_limited(janssen, keep) if janssen is not None else None
        prediction = model(target, batch.mask, copy, batch.copy_score if config.copy_input else None,
                           janssen, batch.janssen_given if config.janssen_input else None)
        loss = gap_loss(prediction, target, batch.mask)
        if config.power_weight:
            loss = loss + config.power_weight * band_power_loss(prediction, target, batch.mask,
                                                                bands=config.power_bands)
        if config.ssim_weight:
            loss = loss + config.ssim_weight * band_ssim_loss(prediction, target, batch.mask)
        if critic is not None:
            loss = loss + config.adversarial_weight * critic.generator_term(prediction, target, batch.mask)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if critic is not None:
            critic.update()
        step += 1
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if running else value
        if step % 50 == 0:
            history.append(running)
            log.info("step %d loss %.4f", step, running)
            sink(step / config.steps, f"step {step} loss {running:.4f}")
        out_of_time = max_minutes is not None and time.monotonic() - started > 60 * max_minutes
        if time.monotonic() - last_save > config.checkpoint_every_s or step == config.steps or out_of_time:
            _save_training_state(checkpoint, model, optimizer, step, history, config,
                                 critic=None if critic is None else critic.state_dict())
            last_save = time.monotonic()
        if out_of_time:
            break
    target_file = weights_out or WEIGHTS_DIR / f"{MODEL_NAME}.pt"
    export_weights(model, config, target_file, step=step, register=weights_out is None)
    return {"step": step, "loss": running, "weights": str(target_file)}


class _Critic:
    """The discriminator of the adversarial term and its optimizer, stepped once per network step.

    ``generator_term`` scores this step's fill (the gap's frames predicted, the rest real) and keeps
    it; ``update`` then trains the discriminator on that fill against the real spectrogram.
    """

    def __init__(self) -> None:
        import torch

        from models.inpaint.adversarial import BandDiscriminator

        self.net = BandDiscriminator()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=2e-4, betas=(0.5, 0.9))
        self._pending: tuple[Any, Any, Any] | None = None

    def generator_term(self, prediction: Any, target: Any, mask: Any) -> Any:
        import torch

        from models.inpaint.adversarial import DISCRIMINATOR_BANDS, REGION_CONTEXT_FRAMES, generator_loss

        filled = torch.where(mask.unsqueeze(1) > 0.5, prediction, target)
        real, fake = band_levels(target, DISCRIMINATOR_BANDS), band_levels(filled, DISCRIMINATOR_BANDS)
        region = gap_region(mask, REGION_CONTEXT_FRAMES)
        self._pending = (real.detach(), fake.detach(), region)
        return generator_loss(self.net, real, fake, region)

    def update(self) -> None:
        from models.inpaint.adversarial import discriminator_loss

        assert self._pending is not None, "generator_term first"
        real, fake, region = self._pending
        self.optimizer.zero_grad()
        discriminator_loss(self.net, real, fake, region).backward()
        self.optimizer.step()
        self._pending = None

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])


def stage_schedule(optimizer: Any, config: TrainConfig, step: int) -> Any:
    """The one-cycle learning-rate schedule of the stage running from ``config.schedule_from`` to
    ``config.steps``, positioned at ``step``.

    A stage starting now plans a fresh schedule (warm-up to ``config.lr``, then cosine
    annealing); one resumed mid-way continues the checkpoint's, whose bounds are in the
    optimizer state, so a run stopped and resumed follows the same curve.
    """
    import torch

    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.steps - config.schedule_from + 1, pct_start=0.05,
        last_epoch=step - config.schedule_from - 1 if step > config.schedule_from else -1)


def export_weights(model: Any, config: TrainConfig, path: Path, *, step: int, register: bool = True) -> None:
    """Save the model in the registry's checkpoint format and (``register``) record its digest."""
    arch_kwargs: dict[str, Any] = {"hidden": config.hidden, "copy_input": config.copy_input}
    if config.janssen_input:
        arch_kwargs["janssen_input"] = True
    save_checkpoint(path, ARCH, arch_kwargs, model.state_dict(), trained_steps=step)
    if register:
        update_manifest(MODEL_NAME, path, extra={"arch": ARCH, "trained_steps": step})


def _save_training_state(path: Path, model: Any, optimizer: Any, step: int, history: list[float],
                         config: TrainConfig, *, critic: dict[str, Any] | None = None) -> None:
    import torch

    from models.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"state_dict": model.state_dict(), "optimizer": compact_optimizer_state(optimizer.state_dict()),
             "step": step, "history": history, "config": asdict(config)}
    if critic is not None:
        state["discriminator"] = critic
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    log.info("checkpoint at step %d -> %s", step, path)


def compact_optimizer_state(state: dict[str, Any]) -> dict[str, Any]:
    """Adam moments in bfloat16: the resumable checkpoint stays small enough to commit.

    ``Optimizer.load_state_dict`` casts them back to the parameters' dtype; bfloat16
    keeps float32's range, so tiny second moments do not underflow to zero.
    """
    import torch

    moments = {
        index: {key: value.to(torch.bfloat16) if torch.is_tensor(value) and value.dim() > 0 else value
                for key, value in entry.items()}
        for index, entry in state["state"].items()
    }
    return {**state, "state": moments}
