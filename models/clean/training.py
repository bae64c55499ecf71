"""Training data shards and the resumable training loop for the frame classifier.

Episodes are rendered once into shards under the data cache (features as
float16 plus labels), then training samples random crops from them. The loop
checkpoints model, optimizer and step every few minutes to ``last.pt`` and
resumes from it, because training runs on a shared 2-core CPU and may be cut off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.atomic import atomic_path
from models.clean.augment import SpecAugment
from models.clean.episodes import compose_episode
from models.clean.features import FEATURE_DIM, features_of
from models.clean.labels import CLASS_NAMES, NUM_CLASSES
from models.clean.sources import (
    RANDOM_BREATH_SHARE,
    Material,
    check_voice_options,
    load_material,
    unseen_breath_material,
    unseen_voice_material,
)

log = logging.getLogger(__name__)

#: Loss weight per class (speech, pause, breath, click, bump, noise): mistakes on speech
#: frames cost most (a cut word is the worst outcome); rare classes are up-weighted.
CLASS_WEIGHTS = (2.5, 1.0, 3.0, 6.0, 3.0, 2.0)
#: Part of every shard's file name: bump it whenever episode synthesis changes, so stale
#: shards are never mixed with new ones (v2: three breath soundfont sources, exhales and sniffs;
#: v3: 16 training voices instead of 10; v4: without the csound Breath Noise, which is the
#: held-out TimGM6mb breath sample; v5: domain-randomised breaths and espeak-ng whispered breaths).
SHARD_VERSION = "v5"


#: Training recipes: which voices, how many shards of 250 episodes, how many steps. v6 is shipped:
#: the 16 v5 voices plus :data:`sources.MORE_TRAIN_VOICES` labelled relative to their own noise floor,
#: with shards and steps scaled by 22/16 so that every v5 voice is seen as often as in v5
#: (``training/clean/floor-labels-2-rule.md``). v5 is the recipe before it, kept for comparisons.
RECIPES: dict[str, dict[str, Any]] = {
    "v6": {"more_voices": True, "floor_labels": True, "shards": 22, "steps": 3500},
    "v5": {"more_voices": False, "floor_labels": False, "shards": 16, "steps": 2500},
}
#: The ``train_seed`` of each shipped network of a recipe: v6 ships the mean of two networks started
#: from different seeds on the same shards (``training/clean/ensemble-v6-rule.md``).
RECIPE_SEEDS: dict[str, tuple[int, ...]] = {"v6": (1234, 7), "v5": (1234,)}


@dataclass(frozen=True)
class TrainConfig:
    """One training run; the defaults are the shipped recipe (:data:`RECIPES` ``v6``)."""

    cache_dir: Path
    checkpoint: Path
    shards: int = 22
    episodes_per_shard: int = 250
    episode_s: float = 8.0
    val_episodes: int = 60
    val_episode_s: float = 30.0
    steps: int = 3500
    #: Length of one one-cycle learning-rate cycle (None: one cycle over ``steps``). ``steps``
    #: must be a whole number of cycles; every cycle after the first is a warm restart: same
    #: optimizer state, a fresh one-cycle schedule, and the crops' random streams re-seeded from
    #: the step, so resuming a checkpoint saved at a cycle's end trains exactly as an unbroken run.
    cycle_steps: int | None = None
    batch: int = 32
    crop_frames: int = 500
    learning_rate: float = 2e-3
    checkpoint_every_s: float = 180.0
    seed: int = 1234
    #: Seed of the weight initialisation and the crops drawn (None: ``seed``). Shards and the
    #: check episodes always use ``seed``, so a second model of an ensemble trains on the same
    #: rendered data, only from another start.
    train_seed: int | None = None
    model_config: dict[str, int] = field(default_factory=dict)
    #: Training breath sources left out (keys of :func:`sources.train_breath_keys`): a
    #: leave-one-source-out run, checked on episodes whose breaths all come from the first one.
    without_breaths: tuple[str, ...] = ()
    random_breath_share: float = RANDOM_BREATH_SHARE
    #: Random EQ and frequency masks on the training crops' log-mel (None: off).
    spec_augment: SpecAugment | None = None
    #: Train on :data:`sources.MORE_TRAIN_VOICES` as well.
    more_voices: bool = True
    #: Label those voices relative to their own noise floor (``episodes.label_depths``).
    floor_labels: bool = True
    #: Speed-perturb every training utterance (``sources.Material.speed_perturb``).
    speed_perturb: bool = False
    #: Train on :data:`sources.NEURAL_TRAIN_VOICES` (Piper voices) as well.
    neural_voices: bool = False

    def __post_init__(self) -> None:
        check_voice_options(more_voices=self.more_voices, floor_labels=self.floor_labels)
        if self.cycle_steps is not None and (self.cycle_steps < 1 or self.steps % self.cycle_steps):
            raise ValueError(f"steps ({self.steps}) must be a whole number of cycles of {self.cycle_steps}")

    @property
    def cycle_length(self) -> int:
        """Steps of one learning-rate cycle."""
        return self.steps if self.cycle_steps is None else self.cycle_steps

    @property
    def run_tag(self) -> str:
        """The recipe tag plus training-only options (shards do not depend on them)."""
        tag = self.recipe_tag
        if self.spec_augment is not None:
            tag += "-specaug" + (f"-breq{self.spec_augment.breath_eq_db:g}" if self.spec_augment.breath_eq_db else "")
        if self.train_seed is not None:
            tag += f"-seed{self.train_seed}"
        return tag

    @property
    def init_seed(self) -> int:
        """The seed of the weights' start and of the crops drawn."""
        return self.seed if self.train_seed is None else self.train_seed

    @property
    def recipe_tag(self) -> str:
        """Part of shard names: the shard version plus any departure from the default recipe."""
        tag = SHARD_VERSION
        if self.without_breaths:
            tag += "-no-" + "+".join(self.without_breaths)
        if self.random_breath_share != RANDOM_BREATH_SHARE:
            tag += f"-rand{self.random_breath_share:g}"
        if self.more_voices:
            tag += "-morevoices"
        if self.floor_labels:
            tag += "-floorlabels"
        if self.speed_perturb:
            tag += "-speed"
        if self.neural_voices:
            tag += "-neural"
        return tag

    def training_material(self) -> Material:
        return load_material(self.cache_dir / "material", "train", without_breaths=self.without_breaths,
                             random_breath_share=self.random_breath_share, more_voices=self.more_voices,
                             floor_labels=self.floor_labels, speed_perturb=self.speed_perturb,
                             neural_voices=self.neural_voices)


@dataclass(frozen=True)
class ValidationScores:
    accuracy: float
    recall_by_class: dict[str, float]
    speech_as_removable: float


def render_shard(material: Material, path: Path, *, episodes: int, episode_s: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    feats = []
    labels = []
    for _ in range(episodes):
        episode = compose_episode(material, rng, duration_s=episode_s)
        if not np.isfinite(episode.audio).all():
            raise ValueError("a synthesized training episode holds NaN or infinite samples")
        feats.append(features_of(episode.audio).astype(np.float16))
        labels.append(episode.labels)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, features=np.stack(feats), labels=np.stack(labels))


def ensure_training_shards(config: TrainConfig, *, progress: Callable[[str], None] = log.info) -> list[Path]:
    """Render missing shards (deterministic per index) and return all shard paths."""
    shard_dir = config.cache_dir / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    paths = [shard_dir / f"train-{config.recipe_tag}-{i:03d}-{config.episode_s:g}s.npz" for i in range(config.shards)]
    if all(p.exists() for p in paths):
        return paths
    material = config.training_material()
    for index, path in enumerate(paths):
        if not path.exists():
            progress(f"rendering training shard {index + 1}/{config.shards}")
            render_shard(material, path, episodes=config.episodes_per_shard, episode_s=config.episode_s,
                         seed=config.seed * 1000 + index)
    return paths


def validation_set_path(cache_dir: Path, draw: int = 1, episodes: int | None = None) -> Path:
    """Draw 1 keeps its original name, so the benchmark's earlier figures reproduce from the same cache."""
    if draw == 1:
        return cache_dir / "val-episodes.npz"
    return cache_dir / f"val-episodes-draw{draw}-{episodes}.npz"


def validation_seed(seed: int, draw: int) -> int:
    """Episode seed of held-out draw ``draw``: draw 1 is the original benchmark's (``seed + 99``)."""
    return seed + 99 + 1000 * (draw - 1)


def tuning_set_path(cache_dir: Path) -> Path:
    """Versioned like the shards: tuning episodes are drawn from the training material."""
    return cache_dir / f"tune-episodes-{SHARD_VERSION}.npz"


def _render_episode_set(material: Material, path: Path, *, episodes: int, episode_s: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    audio, labels = [], []
    for _ in range(episodes):
        episode = compose_episode(material, rng, duration_s=episode_s)
        audio.append(episode.audio)
        labels.append(episode.labels)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, audio=np.stack(audio), labels=np.stack(labels))
    return path


def ensure_validation_set(config: TrainConfig, *, draw: int = 1, episodes: int | None = None) -> Path:
    """Held-out episodes (validation voices, validation soundfont) stored as audio + labels.

    ``draw`` > 1 renders a further, independent set of ``episodes`` from the same held-out
    material with its own seed: a larger sample that no earlier choice has seen, when the first
    draw's 60 episodes are too few to tell a target met from one missed.
    """
    if draw < 1:
        raise ValueError(f"held-out draw must be 1 or more, not {draw}")
    count = config.val_episodes if draw == 1 else episodes or config.val_episodes
    path = validation_set_path(config.cache_dir, draw, count)
    if path.exists():
        return path
    material = load_material(config.cache_dir / "material", "val")
    return _render_episode_set(material, path, episodes=count, episode_s=config.val_episode_s,
                               seed=validation_seed(config.seed, draw))


def ensure_tuning_set(config: TrainConfig) -> Path:
    """Episodes from the TRAINING voices, new seeds: where planner thresholds are tuned, so the
    held-out validation episodes stay untouched by any choice."""
    path = tuning_set_path(config.cache_dir)
    if path.exists():
        return path
    material = load_material(config.cache_dir / "material", "train")
    return _render_episode_set(material, path, episodes=config.val_episodes // 2, episode_s=config.val_episode_s,
                               seed=config.seed + 7777)


def unseen_breath_set_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"unseen-{key}-episodes-{SHARD_VERSION}.npz"


def ensure_unseen_breath_set(config: TrainConfig, key: str) -> Path:
    """Leave-one-source-out check episodes: training voices, new seeds, every breath from the
    training source ``key`` as recorded. Scored with a model trained ``without_breaths=(key,)``,
    they measure breath recall on a timbre the model never heard, without the held-out set."""
    path = unseen_breath_set_path(config.cache_dir, key)
    if path.exists():
        return path
    material = unseen_breath_material(config.cache_dir / "material", key)
    return _render_episode_set(material, path, episodes=config.val_episodes // 2, episode_s=config.val_episode_s,
                               seed=config.seed + 4242)


def unseen_voice_set_path(cache_dir: Path) -> Path:
    return cache_dir / f"unseen-voices-episodes-{SHARD_VERSION}.npz"


def ensure_unseen_voice_set(config: TrainConfig) -> Path:
    """Unheard-voice check episodes: four voices no detector trains on, training texts and breaths.
    They measure how a training change carries over to new speakers without the held-out set."""
    path = unseen_voice_set_path(config.cache_dir)
    if path.exists():
        return path
    material = unseen_voice_material(config.cache_dir / "material")
    return _render_episode_set(material, path, episodes=config.val_episodes // 2, episode_s=config.val_episode_s,
                               seed=config.seed + 5555)


#: The fields that decide what a run trains on (its shards); a checkpoint saved before a field existed
#: had it off.
_DATA_FIELDS = ("more_voices", "floor_labels", "speed_perturb", "neural_voices", "without_breaths",
                "random_breath_share")


def _same_data(saved: dict[str, str], config: TrainConfig) -> bool:
    """Whether a checkpoint's saved ``train_config`` trained on the data ``config`` names. Resuming
    into other data is how a fine-tune starts, but a *finished* run of other data would otherwise be
    exported as if it were this recipe's."""
    return all(saved.get(name, "False") == str(getattr(config, name)) for name in _DATA_FIELDS)


def monitor_set(config: TrainConfig) -> Path:
    """What training logs its progress on, never the held-out episodes: the left-out breath
    source's check episodes in a leave-one-source-out run, else the tuning episodes."""
    if config.without_breaths:
        return ensure_unseen_breath_set(config, config.without_breaths[0])
    return ensure_tuning_set(config)


def load_validation_set(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(audio (episodes, samples), labels (episodes, frames))``."""
    with np.load(path) as data:
        return data["audio"], data["labels"]


def _load_shards(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    feats, labels = [], []
    for path in paths:
        with np.load(path) as data:
            feats.append(data["features"])
            labels.append(data["labels"])
    return np.concatenate(feats), np.concatenate(labels)


def evaluate_frames(model: Any, features: list[np.ndarray], labels: list[np.ndarray]) -> ValidationScores:
    import torch

    model.eval()
    predictions = []
    with torch.inference_mode():
        for feat in features:
            logits = model(torch.from_numpy(feat.astype(np.float32))[None])
            predictions.append(logits[0].argmax(-1).numpy())
    model.train()
    pred = np.concatenate(predictions)
    true = np.concatenate(labels)
    recall = {name: float(np.mean(pred[true == cls] == cls)) if np.any(true == cls) else float("nan")
              for cls, name in enumerate(CLASS_NAMES)}
    speech = true == 0
    return ValidationScores(accuracy=float(np.mean(pred == true)), recall_by_class=recall,
                            speech_as_removable=float(np.mean(pred[speech] != 0)) if speech.any() else 0.0)


def train(config: TrainConfig, *, progress: Callable[[str], None] = log.info) -> dict[str, Any]:
    """Train (or resume) until ``config.steps``; returns the final checkpoint payload."""
    import torch

    from models.clean.network import ARCH, FrameNet
    from models.registry import save_checkpoint

    torch.set_num_threads(1)
    torch.manual_seed(config.init_seed)
    # Read once, before any shard is rendered: a finished run of other data is refused at once.
    state = torch.load(config.checkpoint, map_location="cpu", weights_only=True) if config.checkpoint.exists() else None
    saved_config = {} if state is None else state.get("train_config", {})
    if state is not None and int(state["step"]) >= config.steps and not _same_data(saved_config, config):
        raise ValueError(f"{config.checkpoint} is a finished run (step {state['step']}) on other training data "
                         f"than this recipe's ({config.recipe_tag}); give this run its own --checkpoint")
    model_config = {"feature_dim": FEATURE_DIM, "channels": 96, "hidden": 64, "num_classes": NUM_CLASSES,
                    **config.model_config}
    if state is not None and "config" in state and state["config"] != model_config:
        raise ValueError(f"{config.checkpoint} holds a network of another size ({state['config']}), "
                         f"not {model_config}; give this run its own --checkpoint")
    shard_paths = ensure_training_shards(config, progress=progress)
    val_audio, val_labels = load_validation_set(monitor_set(config))
    val_feats = [features_of(a) for a in val_audio[:20]]
    val_true = list(val_labels[:20])
    feats, labels = _load_shards(shard_paths)
    progress(f"training on {feats.shape[0]} episodes ({feats.shape[0] * config.episode_s / 3600:.1f} h)")
    model = FrameNet(**model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)

    def new_cycle() -> torch.optim.lr_scheduler.OneCycleLR:
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate,
                                                   total_steps=config.cycle_length, pct_start=0.05)

    scheduler = new_cycle()
    step = 0
    if state is not None:
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        if not _at_restart(config, step):
            saved_cycle = int(state["scheduler"]["total_steps"])
            if saved_cycle != config.cycle_length:
                raise ValueError(f"{config.checkpoint} is inside a cycle of {saved_cycle} steps, "
                                 f"not {config.cycle_length}")
            scheduler.load_state_dict(state["scheduler"])
        progress(f"resumed from step {step}")
    weights = torch.tensor(CLASS_WEIGHTS, dtype=torch.float32)
    rng, augment_rng = _random_streams(config, step)
    if _at_restart(config, step):
        scheduler, rng, augment_rng = _warm_restart(config, step, new_cycle, progress)
    last_save = time.monotonic()
    running = 0.0

    def save() -> None:
        save_checkpoint(config.checkpoint, ARCH, model_config, model.state_dict(),
                        optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(), step=step,
                        train_config={k: str(v) for k, v in asdict(config).items()})

    model.train()
    while step < config.steps:
        index = rng.integers(0, feats.shape[0], size=config.batch)
        offset = rng.integers(0, feats.shape[1] - config.crop_frames + 1, size=config.batch)
        batch_x = np.stack([feats[i, o:o + config.crop_frames] for i, o in zip(index, offset, strict=True)])
        batch_y = np.stack([labels[i, o:o + config.crop_frames] for i, o in zip(index, offset, strict=True)])
        if config.spec_augment is not None:
            batch_x = config.spec_augment.apply(batch_x, augment_rng, labels=batch_y)
        x = torch.from_numpy(batch_x.astype(np.float32))
        x = x + 0.03 * torch.randn_like(x)
        y = torch.from_numpy(batch_y.astype(np.int64))
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, NUM_CLASSES), y.reshape(-1), weight=weights)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if step % 100 == 0:
            progress(f"step {step}/{config.steps} loss {running:.4f} lr {scheduler.get_last_lr()[0]:.2e}")
        if step % 500 == 0 or step == config.steps:
            scores = evaluate_frames(model, val_feats, val_true)
            progress(f"step {step} monitor acc {scores.accuracy:.4f} speech->other {scores.speech_as_removable:.4f} "
                     + " ".join(f"{k}={v:.3f}" for k, v in scores.recall_by_class.items()))
        if time.monotonic() - last_save > config.checkpoint_every_s or step % config.cycle_length == 0:
            save()
            last_save = time.monotonic()
        if _at_restart(config, step):
            scheduler, rng, augment_rng = _warm_restart(config, step, new_cycle, progress)
    payload: dict[str, Any] = torch.load(config.checkpoint, map_location="cpu", weights_only=True)
    return payload


def _at_restart(config: TrainConfig, step: int) -> bool:
    """Whether ``step`` ends a learning-rate cycle and another one follows."""
    return 0 < step < config.steps and step % config.cycle_length == 0


def _warm_restart(config: TrainConfig, step: int, new_cycle: Callable[[], Any],
                  progress: Callable[[str], None]) -> tuple[Any, np.random.Generator, np.random.Generator]:
    """A fresh one-cycle schedule (the optimizer's moments are kept) and the random streams
    re-seeded from ``step``: the same whether the run went on or resumed a checkpoint saved here."""
    import torch

    torch.manual_seed(config.init_seed + step)
    progress(f"step {step}: learning-rate cycle {step // config.cycle_length + 1} "
             f"of {config.steps // config.cycle_length}")
    return new_cycle(), *_random_streams(config, step)


def _random_streams(config: TrainConfig, step: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The crops' and the augmentation's random streams from ``step`` on: the augmentation has a
    generator of its own, so switching it on leaves the crops drawn unchanged."""
    return np.random.default_rng(config.init_seed + step), np.random.default_rng(config.init_seed + 31 + step)


def export_weights(checkpoint: Path, weights_path: Path, *, name: str) -> Path:
    """Strip optimizer state from a training checkpoint and register it in the manifest."""
    import torch

    from models.registry import save_checkpoint, update_manifest

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    save_checkpoint(weights_path, state["arch"], state["config"], state["state_dict"], step=state["step"])
    update_manifest(name, weights_path, extra={"arch": state["arch"], "step": int(state["step"])})
    return weights_path


def export_ensemble_weights(checkpoints: list[Path], weights_path: Path, *, name: str) -> Path:
    """Export several training checkpoints as one :class:`FrameNetEnsemble` weights file."""
    from models.registry import save_checkpoint, update_manifest

    payload = ensemble_payload(checkpoints)
    step = max(payload["step"])
    save_checkpoint(weights_path, payload["arch"], payload["config"], payload["state_dict"], step=step)
    update_manifest(name, weights_path, extra={"arch": payload["arch"], "step": step, "members": len(checkpoints)})
    return weights_path


def detector_from_checkpoints(checkpoints: list[Path]) -> Any:
    """The detector of one checkpoint, or the :class:`FrameNetEnsemble` of several (the tuning
    harnesses compare single runs and ensembles of them the same way)."""
    from models.registry import build_model, load_checkpoint_file

    return build_model(load_checkpoint_file(checkpoints[0]) if len(checkpoints) == 1
                       else ensemble_payload(checkpoints))


def ensemble_payload(checkpoints: list[Path]) -> dict[str, Any]:
    """One :class:`FrameNetEnsemble` checkpoint payload from member checkpoints of one architecture
    (training checkpoints or exported weights; optimizer state is dropped)."""
    import torch

    from models.clean.network import ARCH, ENSEMBLE_ARCH

    states = [torch.load(path, map_location="cpu", weights_only=True) for path in checkpoints]
    if any(state["arch"] != ARCH or state["config"] != states[0]["config"] for state in states):
        raise ValueError(f"ensemble members must all be {ARCH} with one config")
    state_dict = {f"members.{index}.{key}": value
                  for index, state in enumerate(states) for key, value in state["state_dict"].items()}
    return {"arch": ENSEMBLE_ARCH, "config": {"members": len(states), **states[0]["config"]},
            "state_dict": state_dict, "step": [int(state["step"]) for state in states]}
