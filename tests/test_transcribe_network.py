"""Network shapes, chunked inference invariance and the mir_eval scoring wrapper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.transcribe.evaluate import score
from models.transcribe.features import (
    HOP,
    N_BINS,
    SAMPLE_RATE,
    bin_midi,
    frame_count,
    log_spectrogram,
    long_spectrogram,
    model_features,
)
from models.transcribe.network import HarmonicOnsetsFrames
from models.transcribe.transcriber import predict


def _tiny(input_channels: int = 1) -> HarmonicOnsetsFrames:
    torch.manual_seed(0)
    model = HarmonicOnsetsFrames(channels=(2, 4, 4), dilations=(1, 2), frame_dilations=(1,), dropout=0.0,
                                 input_channels=input_channels)
    return model.eval()


def test_heads_have_one_output_per_frame_and_key() -> None:
    with torch.inference_mode():
        out = _tiny()(torch.randn(2, 37, N_BINS))
    for head in (out.onset, out.offset, out.frame, out.velocity):
        assert head.shape == (2, 37, 88)
    assert float(out.velocity.min()) >= 0.0 and float(out.velocity.max()) <= 1.0


@pytest.mark.parametrize("input_channels", [1, 2])
def test_chunked_prediction_matches_one_pass(input_channels: int) -> None:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(SAMPLE_RATE * 6)).astype(np.float32)
    model = _tiny(input_channels)
    whole = predict(model, audio, chunk_frames=10_000, bfloat16=False)
    chunked = predict(model, audio, chunk_frames=70, bfloat16=False)
    assert whole.n_frames == frame_count(audio.shape[0])
    np.testing.assert_allclose(chunked.frame, whole.frame, atol=2e-3)
    np.testing.assert_allclose(chunked.onset, whole.onset, atol=2e-3)


def test_features_are_finite_for_silence_and_short_input() -> None:
    assert np.isfinite(log_spectrogram(np.zeros(SAMPLE_RATE, np.float32))).all()
    assert log_spectrogram(np.zeros(HOP // 2, np.float32)).shape == (1, N_BINS)
    assert np.isfinite(long_spectrogram(np.zeros(SAMPLE_RATE, np.float32))).all()
    assert model_features(np.zeros(HOP // 2, np.float32), input_channels=2).shape == (1, 2, N_BINS)


def test_long_window_separates_neighbouring_bass_keys() -> None:
    """A sine on A1 (55 Hz; the next key is 3.3 Hz away): the long window's level one key up is
    far below the peak, while the 2048-point window's 7.8 Hz bins blur the two keys together."""
    t = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    audio = (0.3 * np.sin(2 * np.pi * 55.0 * t)).astype(np.float32)
    a1, a_sharp1 = 2 * (33 - 21), 2 * (34 - 21)
    assert bin_midi(a1) == 33
    long, short = long_spectrogram(audio)[50], log_spectrogram(audio)[50]
    assert long[a1] - long[a_sharp1] > 2.0  # log power: a factor of e**2
    assert short[a1] - short[a_sharp1] < 0.5


def test_scores_are_perfect_for_identical_notes_and_drop_for_shifted_ones() -> None:
    truth = np.array([[60, 0.5, 1.0, 80], [64, 1.0, 1.5, 40], [67, 2.0, 3.0, 100]], dtype=float)
    perfect = score(truth, truth.copy())
    assert perfect.onset_f1 == 1.0 and perfect.onset_offset_f1 == 1.0 and perfect.onset_velocity_f1 == 1.0
    assert perfect.frame_f1 == 1.0
    shifted = truth.copy()
    shifted[:, 1:3] += 0.08
    assert score(truth, shifted).onset_f1 == 0.0
    assert score(truth, np.zeros((0, 4))).onset_f1 == 0.0


def test_false_positives_are_classified_as_octave_ghosts_or_retriggers() -> None:
    truth = np.array([[48, 0.5, 2.0, 80], [60, 3.0, 3.5, 80]], dtype=float)
    estimated = np.array([[48, 0.5, 2.0, 80], [60, 0.51, 1.0, 30], [48, 1.2, 2.0, 40], [60, 3.0, 3.5, 80]])
    result = score(truth, estimated)
    assert result.octave_ghosts == 0.5  # the 60 at 0.51 s: one per two reference notes
    assert result.retriggers == 0.5  # the 48 struck again at 1.2 s while still held


def test_widened_model_starts_from_exactly_the_narrow_models_outputs() -> None:
    from models.transcribe.train import widened_state

    narrow = _tiny()
    wide = HarmonicOnsetsFrames(channels=(2, 6, 4), dilations=(1, 2), frame_dilations=(1,), dropout=0.0).eval()
    wide.load_state_dict(widened_state(narrow.state_dict(), wide.state_dict()))
    features = torch.randn(1, 40, N_BINS)
    with torch.inference_mode():
        before, after = narrow(features), wide(features)
    for head in ("onset", "offset", "frame", "velocity"):
        torch.testing.assert_close(getattr(after, head), getattr(before, head))


def test_widening_the_pitch_layer_keeps_each_partial_shifts_channels_together() -> None:
    from models.transcribe.train import widened_state

    narrow = _tiny(input_channels=2)
    wide = HarmonicOnsetsFrames(channels=(3, 6, 4), dilations=(1, 2), frame_dilations=(1,), dropout=0.0,
                                input_channels=2).eval()
    wide.load_state_dict(widened_state(narrow.state_dict(), wide.state_dict()))
    features = torch.randn(1, 40, 2, N_BINS)
    with torch.inference_mode():
        before, after = narrow(features), wide(features)
    for head in ("onset", "offset", "frame", "velocity"):
        torch.testing.assert_close(getattr(after, head), getattr(before, head))


def test_second_input_plane_starts_with_no_influence() -> None:
    from models.transcribe.train import widened_state

    one = _tiny()
    two = _tiny(input_channels=2)
    two.load_state_dict(widened_state(one.state_dict(), two.state_dict()))
    features = torch.randn(1, 40, 2, N_BINS)
    with torch.inference_mode():
        before, after = one(features[:, :, 0]), two(features)
    for head in ("onset", "offset", "frame", "velocity"):
        torch.testing.assert_close(getattr(after, head), getattr(before, head))
