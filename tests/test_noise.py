"""Noise for stress tests (tsad.data.noise): nstdb's signal-to-noise ratio and its alternating
noisy stretches, for each kind of noise."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.data.noise import KINDS, NOISE_START_S, STRETCH_S, add_noise, make_noise, noisy_mask, signal_power


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_zero_mean_unit_variance(kind):
    x = make_noise(kind, 128 * 120, 128.0, np.random.default_rng(0))
    assert abs(x.mean()) < 1e-9 and x.std() == pytest.approx(1.0)


def test_noise_starts_at_minute_five_in_alternating_stretches():
    fs = 10.0
    mask = noisy_mask(int(fs * 900), fs)
    t = np.arange(len(mask)) / fs
    assert not mask[t < NOISE_START_S].any()
    assert mask[(t >= NOISE_START_S) & (t < NOISE_START_S + STRETCH_S)].all()
    assert not mask[(t >= NOISE_START_S + STRETCH_S) & (t < NOISE_START_S + 2 * STRETCH_S)].any()


def test_the_added_noise_has_the_asked_snr_as_nstdb_defines_it():
    fs, n = 128.0, 128 * 900
    beats = np.arange(64, n - 64, 100)
    clean = np.zeros((n, 2))
    clean[beats, 0], clean[beats, 1] = 2.0, 1.0              # peak-to-peak 2 and 1 mV
    assert signal_power(clean[:, 0], beats, fs) == pytest.approx(4.0 / 8)
    for snr in (12.0, 0.0, -6.0):
        noisy = add_noise(clean, beats, fs, snr, seed=3)
        mask = noisy_mask(n, fs)
        assert np.array_equal(noisy[~mask], clean[~mask])   # clean stretches stay clean
        for lead in (0, 1):
            noise = (noisy - clean)[mask, lead]
            measured = 10 * np.log10(signal_power(clean[:, lead], beats, fs) / np.mean(noise ** 2))
            assert measured == pytest.approx(snr, abs=0.01)
