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


def test_the_noise_benchmark_scores_offline_and_causal_detection(tmp_path):
    """benchmarks/bench_noise.py on a synthetic record: every detector scored at every SNR, the shipped
    model's causal detector with --latency-s (RESULTS AB), and a wait without a latency refused."""
    from conftest import REPO, run_script

    from tsad.core.paths import PRETRAINED_DIR
    from tsad.data.demo_db import DemoConfig, write_demo_database

    if not any(PRETRAINED_DIR.glob("*/causal/best.pth")):
        pytest.skip("the shipped model's causal detector (pretrained/) is not in this checkout")
    write_demo_database(tmp_path / "raw", DemoConfig(n_records=1, minutes=7))
    bench = REPO / "benchmarks/bench_noise.py"
    common = ["--input-dir", str(tmp_path / "raw"), "--records", "1", "--snr", "12", "0"]
    offline = run_script(bench, [*common, "--detectors", "pretrained", "xqrs", "--out", str(tmp_path / "off")])
    causal = run_script(bench, [*common, "--detectors", "pretrained", "--latency-s", "0.5", "--out",
                                str(tmp_path / "on")])
    assert set(offline["detector"]) == {"pretrained", "xqrs"} and set(offline["snr_db"]) == {12.0, 0.0}
    assert (tmp_path / "on" / "noise_records.csv").is_file()
    at = {snr: row for snr, row in causal.set_index("snr_db").iterrows()}
    assert at[12.0]["Se"] > 0.95 and at[12.0]["TP"] + at[12.0]["FN"] == offline.iloc[0]["TP"] + offline.iloc[0]["FN"]
    # detection with a latency needs a model of bounded look-ahead: the shipped one's causal detector was
    # loaded (the offline model would have been refused), and scored like the others
    assert at[0.0]["TP"] + at[0.0]["FN"] == at[12.0]["TP"] + at[12.0]["FN"]
    with pytest.raises(SystemExit):
        run_script(bench, [*common, "--detectors", "pretrained", "--causal-wait-s", "0.05", "--out", str(tmp_path / "x")])
