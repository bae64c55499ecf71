"""The mda Piano renderer (SuperCollider, offline): timing, dampers, pedal, velocity, re-strikes, voicings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.synth.compositions import Note, PedalSpan, Performance
from models.synth.mda_piano import VOICING_RANGES, MdaVoicing, mda_available, random_voicing, render_mda

pytestmark = pytest.mark.skipif(not mda_available(), reason="needs scsynth, sc3-plugins-server and supriya")

SR = 16000


def _render(notes: list[Note], *, pedal: tuple[PedalSpan, ...] = (), voicing: MdaVoicing | None = None) -> np.ndarray:
    return render_mda(Performance("test", tuple(notes), pedal), sr=SR, voicing=voicing)


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))


def _span(audio: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    return audio[int(start_s * SR):int(end_s * SR)]


def _centroid_hz(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    return float(np.sum(np.fft.rfftfreq(x.shape[0], 1 / SR) * power) / np.sum(power))


def test_a_note_starts_on_time_at_its_pitch_and_covers_the_release_tail() -> None:
    audio = _render([Note(57, 0.5, 1.5, 100)])  # A3, 220 Hz
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.shape[0] == round(2.5 * SR)  # the performance plus one second of tail
    assert np.max(np.abs(audio[: int(0.49 * SR)])) < 1e-4 * np.max(np.abs(audio))  # resampler ringing only
    first = int(np.argmax(np.abs(audio) > 0.05 * np.abs(audio).max())) / SR
    assert 0.5 <= first < 0.51
    window = _span(audio, 0.6, 1.1)
    spectrum = np.abs(np.fft.rfft(window * np.hanning(window.shape[0])))
    freqs = np.fft.rfftfreq(window.shape[0], 1 / SR)
    peaks = freqs[np.argsort(spectrum)[-3:]]
    # Its strongest components are harmonics of 220 Hz (within the stretch tuning and detuning).
    assert np.all(np.abs(peaks / 220.0 - np.round(peaks / 220.0)) < 0.05)


def test_the_damper_stops_a_released_key_and_the_pedal_holds_it() -> None:
    voicing = MdaVoicing(decay=0.9, release=0.2)
    released = _render([Note(60, 0.0, 0.4, 90)], voicing=voicing)
    held = _render([Note(60, 0.0, 0.4, 90)], pedal=(PedalSpan(0.0, 1.5),), voicing=voicing)
    assert _db(_span(released, 0.9, 1.1)) < _db(_span(released, 0.1, 0.3)) - 40
    assert _db(_span(held, 0.9, 1.1)) > _db(_span(released, 0.9, 1.1)) + 30


def test_harder_blows_are_louder() -> None:
    soft = _render([Note(60, 0.0, 0.5, 30)])
    loud = _render([Note(60, 0.0, 0.5, 110)])
    assert _db(_span(loud, 0.0, 0.25)) > _db(_span(soft, 0.0, 0.25)) + 10


def test_a_re_struck_ringing_key_releases_its_previous_voice() -> None:
    # Under the pedal the first note would ring on; the re-strike at 0.5 s cuts it, so the key's sound
    # after the second note's own release is gone as fast as a single released note's.
    voicing = MdaVoicing(decay=0.95, release=0.2)
    pedal = (PedalSpan(0.0, 0.9),)
    twice = _render([Note(48, 0.0, 0.2, 100), Note(48, 0.5, 0.7, 100)], pedal=pedal, voicing=voicing)
    once = _render([Note(48, 0.5, 0.7, 100)], pedal=pedal, voicing=voicing)
    attack = _span(twice, 0.5, 0.55)
    assert _db(attack) > _db(_span(twice, 0.44, 0.49)) + 3  # a new attack on the ringing string
    assert _db(_span(twice, 1.3, 1.5)) < _db(_span(once, 1.3, 1.5)) + 3


def test_voicings_are_drawn_in_range_and_reproducibly() -> None:
    first = [random_voicing(np.random.default_rng(seed)) for seed in range(20)]
    again = [random_voicing(np.random.default_rng(seed)) for seed in range(20)]
    assert first == again
    for name, (low, high) in VOICING_RANGES.items():
        values = np.array([getattr(v, name) for v in first])
        assert np.all((values >= low) & (values <= high))
        assert values.std() > 0.1 * (high - low)  # actually varied, not one instrument
    # Different voicings are audibly different instruments on the same note: a soft, muffled hammer
    # is darker than a hard, open one (spectral centroids about 370 against 610 Hz on middle C).
    muffled = _span(_render([Note(60, 0.0, 0.8, 80)], voicing=MdaVoicing(hard=0.2, muffle=0.5)), 0.0, 0.5)
    open_ = _span(_render([Note(60, 0.0, 0.8, 80)], voicing=MdaVoicing(hard=0.95, muffle=1.0)), 0.0, 0.5)
    assert _centroid_hz(open_) > 1.3 * _centroid_hz(muffled)


def test_the_mda_training_source_renders_items_whose_notes_are_heard(tmp_path: Path) -> None:
    from models.transcribe.dataset import ITEM_DURATION_S, render_training_item
    from models.transcribe.features import BINS_PER_SEMITONE, FRAMES_PER_S, LOWEST_MIDI

    item = render_training_item(3, cache_dir=tmp_path, source="mda", input_channels=2)  # a re-strike item
    again = render_training_item(3, cache_dir=tmp_path, source="mda", input_channels=2)
    assert np.array_equal(item.features, again.features)
    assert item.features.ndim == 3 and item.features.shape[1] == 2
    assert item.features.shape[0] >= ITEM_DURATION_S * FRAMES_PER_S
    assert item.notes.shape[0] >= 10
    # The labels line up with the audio: most notes' own spectrogram bins rise at their labelled onsets.
    plane = item.features[:, 0].astype(np.float32)
    onsets = np.round(item.notes[:, 1] * FRAMES_PER_S).astype(int)
    bins = ((item.notes[:, 0] - LOWEST_MIDI) * BINS_PER_SEMITONE).astype(int)
    inside = (onsets >= 3) & (onsets + 2 < plane.shape[0])
    rise = plane[onsets[inside] + 2, bins[inside]] - plane[onsets[inside] - 3, bins[inside]]
    assert np.mean(rise > 0) > 0.8


def test_inpaint_mda_clips_are_cached_at_a_drawn_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.inpaint import dataset

    monkeypatch.setattr(dataset, "cache_dir", lambda: tmp_path)
    clips = dataset.mda_clips(count=2, duration_s=4.0, sr=22050)
    assert [c.kind for c in clips] == ["music", "music"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{c.name}.flac" for c in clips)
    for clip in clips:
        peak_db = 20 * np.log10(np.max(np.abs(clip.samples)))
        assert -12.1 <= peak_db <= -0.9
    # A second call reads the cache instead of rendering again.
    sf.write(str(tmp_path / f"{clips[0].name}.flac"), np.full(100, 0.25, dtype=np.float32), 22050, subtype="PCM_24")
    again = dataset.mda_clips(count=2, duration_s=4.0, sr=22050)
    assert again[0].samples.shape == (100,)
    assert np.array_equal(again[1].samples, clips[1].samples)
