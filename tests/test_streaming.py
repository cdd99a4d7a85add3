"""Streamed whole-record detection (tsad.detection.streaming), one-lead records, and archives (tsad.detection.archive,
detect.py --recursive / --engine dask), with the shipped model (pretrained/, no training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_script

from tsad.core.geometry import tolerance_samples
from tsad.core.paths import PRETRAINED_DIR, Workspace
from tsad.data.demo_db import DemoConfig, synth_record
from tsad.detection import records
from tsad.detection.streaming import array_source, detect_stream, input_leads, model_length
from tsad.models import loader, predictor
from tsad.scoring import ec57
from tsad.scoring.beats import match_beats

DETECT = REPO / "Codes/Inference/detect.py"
FS = 250


@pytest.fixture(scope="module")
def shipped():
    if not any(PRETRAINED_DIR.glob("*/best.pth")):
        pytest.skip("the shipped model (pretrained/) is not in this checkout")
    return loader.load("pretrained", Workspace.from_arg(None), device="cpu")


@pytest.fixture(scope="module")
def ecg250():
    """10 minutes of synthetic two-lead ECG at 250 Hz and its beats."""
    signal, beats, _ = synth_record(600, np.random.default_rng(7), DemoConfig(), fs=FS)
    return signal, beats


def _write(folder: Path, name: str, signal: np.ndarray, fs: int = FS) -> None:
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    leads = signal.shape[1]
    wfdb.wrsamp(name, fs=fs, units=["mV"] * leads, sig_name=[f"ECG{k + 1}" for k in range(leads)], p_signal=signal,
                fmt=["16"] * leads, write_dir=str(folder))


def test_chunks_give_the_beats_of_one_pass(shipped, ecg250):
    """Resampled 250 -> 128 Hz, with a NaN gap and a flat stretch across chunk borders: chunks of 37 s
    find the beats, gaps and probabilities of one pass over the whole record."""
    signal, beats = ecg250
    signal = signal.copy()
    signal[36 * FS:39 * FS] = np.nan           # across the border at 37 s
    signal[73 * FS + 100:75 * FS] = 0.3        # flat, across the border at 74 s
    whole = detect_stream(shipped, array_source(signal, FS), chunk_s=1e6)
    parts = detect_stream(shipped, array_source(signal, FS), chunk_s=37)
    assert np.array_equal(whole.samples, parts.samples)
    assert whole.gaps == parts.gaps == [(36 * FS, 39 * FS), (73 * FS + 100, 75 * FS)]
    assert np.allclose(whole.scores, parts.scores, atol=1e-4) and np.allclose(whole.prob, parts.prob, atol=1e-4)
    # the generator's last ~12 s hold noise and no beats: a model that marks none there is warned of
    # that stretch (and nothing else), one that marks false beats there of nothing
    assert whole.warnings == parts.warnings
    assert all("with over 10 s of signal but no beat" in w and f"from {(len(signal) - 12 * FS) // FS}" in w
               for w in whole.warnings), whole.warnings
    # Scored up to a second after the last beat, so that what a model does in that noise does not count.
    scored = whole.samples[whole.samples < beats[-1] + FS]
    found = match_beats(beats, scored, tolerance_samples(FS))
    in_gaps = sum(((beats >= a) & (beats < b)).sum() for a, b in whole.gaps)
    assert found.tp >= len(beats) - in_gaps - 2 and found.fp <= 2


def test_memory_is_bounded_by_the_chunk_not_the_record(shipped, ecg250):
    """Each read of the source spans a chunk and its margins whatever the record's length; with
    keep_prob False no probability is kept, and the sink gets every sample once, in order."""
    signal, _ = ecg250
    spans = {}
    for minutes in (5, 10):
        source = array_source(signal[:minutes * 60 * FS], FS)
        read, seen = source.read, []
        source.read = lambda a, b, read=read, seen=seen: seen.append(b - a) or read(a, b)
        got = []
        det = detect_stream(shipped, source, chunk_s=60, keep_prob=False, prob_sink=got.append)
        assert det.prob is None and len(det.samples) > 0
        assert sum(map(len, got)) == model_length(minutes * 60 * FS, FS, 128.0)
        spans[minutes] = max(seen)
    assert spans[5] == spans[10] < 80 * FS      # 60 s and a few seconds of margin


def test_one_lead_feeds_the_first_input_and_finds_the_beats(shipped, ecg250, tmp_path):
    signal, beats = ecg250
    det = records.detect_signal(shipped, signal[:, 0], FS)
    assert det.leads == [0, None]
    found = match_beats(beats, det.samples, tolerance_samples(FS))
    assert found.tp >= 0.98 * len(beats) and found.fp <= 0.02 * len(beats)
    only_second = records.detect_signal(shipped, signal, FS, leads=[1])
    assert only_second.leads == [None, 1]
    # the command line: a one-lead WFDB record is detected, and says which input read what
    _write(tmp_path / "one", "single", signal[:, :1])
    result = run_script(DETECT, ["--run", "pretrained", "--input-dir", str(tmp_path / "one"),
                                 "--out", str(tmp_path / "d")])
    assert result["records"][0]["leads"] == [0, None] and result["records"][0]["beats"] == len(det.samples)
    with pytest.raises(predictor.DetectionError, match=r"single: has 1 lead\(s\), lead\(s\) \[1\] were asked for"):
        run_script(DETECT, ["--run", "pretrained", "--input-dir", str(tmp_path / "one"), "--out",
                            str(tmp_path / "d2"), "--leads", "1"])


def test_input_leads_rules():
    source = array_source(np.zeros((1000, 3)), 100)
    assert input_leads(source, (0, 1)) == [0, 1]
    assert input_leads(source, (0, 1), leads=[1, 2]) == [None, 1]
    with pytest.raises(predictor.DetectionError, match="none of the leads the model reads"):
        input_leads(source, (0, 1), leads=[2])


def test_probabilities_are_written_as_they_are_computed(shipped, ecg250, tmp_path):
    from tsad.detection.folders import ProbsWriter

    with ProbsWriter(tmp_path / "p.npy", 5) as sink:
        sink(np.ones(2)), sink(np.zeros(3))
    assert np.load(tmp_path / "p.npy").tolist() == [1, 1, 0, 0, 0]
    with pytest.raises(predictor.DetectionError, match="4 probabilities written, 5 expected"):
        with ProbsWriter(tmp_path / "q.npy", 5) as sink:
            sink(np.ones(4))
    assert not (tmp_path / "q.npy").exists() and not list(tmp_path.glob(".q.npy*"))


@pytest.fixture(scope="module")
def archive(ecg250, tmp_path_factory):
    """A folder tree of three short records (two sub-folders) and one broken record."""
    signal, _ = ecg250
    root = tmp_path_factory.mktemp("archive")
    _write(root / "ward_a", "p1", signal[:60 * FS])
    _write(root / "ward_a", "p2", signal[60 * FS:120 * FS])
    _write(root / "ward_b" / "night", "p3", signal[120 * FS:200 * FS])
    _write(root / "ward_b", "broken", signal[:60 * FS])
    (root / "ward_b" / "broken.dat").unlink()          # its header names a signal file that is gone
    return root


def test_a_tree_is_detected_once_and_skipped_after(shipped, archive, tmp_path):
    out = tmp_path / "out"
    names = ["ward_a/p1", "ward_a/p2", "ward_b/night/p3"]
    args = ["--run", "pretrained", "--input-dir", str(archive), "--recursive", "--out", str(out),
            "--records", *names]
    first = run_script(DETECT, args)
    assert [r["record"] for r in first["records"]] == names and first["skipped"] == []
    assert (out / "ward_b/night/p3.tsad").is_file() and (out / "ward_b/night/p3_probs.npy").is_file()
    assert json.loads((out / "ward_a/p1_detection.json").read_text())["key"]["checkpoint_sha256"]
    again = run_script(DETECT, args)
    assert again["skipped"] == sorted(names) and again["records"] == first["records"]
    other = run_script(DETECT, args + ["--threshold", "0.5"])          # another setting: detected again
    assert other["skipped"] == []
    assert run_script(DETECT, args + ["--threshold", "0.5", "--redo"])["skipped"] == []


def test_dask_engine_detects_the_tree_and_reports_the_broken_record(shipped, archive, tmp_path):
    pytest.importorskip("dask.distributed")
    local = run_script(DETECT, ["--run", "pretrained", "--input-dir", str(archive), "--recursive", "--out",
                                str(tmp_path / "local"), "--records", "ward_a/p1", "ward_a/p2", "ward_b/night/p3"])
    out = tmp_path / "dask"
    result = run_script(DETECT, ["--run", "pretrained", "--input-dir", str(archive), "--recursive", "--out",
                                 str(out), "--engine", "dask", "--workers", "2"])
    assert [f["record"] for f in result["failures"]] == ["ward_b/broken"]
    assert "broken.dat" in result["failures"][0]["error"]
    assert json.loads((out / "failures.json").read_text())["failures"] == result["failures"]
    by_name = {r["record"]: r for r in result["records"]}
    for row in local["records"]:
        assert by_name[row["record"]]["beats"] == row["beats"]
        assert np.array_equal(ec57.read_detections(out / Path(row["record"]).parent, Path(row["record"]).name, "tsad"),
                              ec57.read_detections(tmp_path / "local" / Path(row["record"]).parent,
                                                   Path(row["record"]).name, "tsad"))


# ---- the fully convolutional student (tsad.models.fast_student) ----------------------------------------

def _fcn_run(tmp_path: Path, arch: str = "fcn_5k") -> Path:
    """A run folder holding an untrained fully convolutional student (speed and equality do not
    depend on the weights); its BatchNorm statistics are made non-trivial first."""
    from dataclasses import asdict

    import torch

    from tsad.core.checkpoint import save_checkpoint, trainable_state_dict
    from tsad.models.student import build_student, student_config

    torch.manual_seed(0)
    model = build_student(student_config(arch))
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 512, 2))        # running statistics away from 0 / 1
    run = tmp_path / arch
    save_checkpoint(run / "best.pth", {"kind": "student", "model_config": asdict(model.config),
                                       "model": trainable_state_dict(model),
                                       "geometry": {"fs": 128.0, "samples": 256, "channels": [0, 1],
                                                    "labels": "beats"}})
    return run


@pytest.mark.parametrize("arch", ["fcn_1k", "fcn_5k", "fcn_20k", "fcn_80k"])
def test_fcn_sizes_and_a_stretch_inside_a_longer_one(arch):
    import torch

    from tsad.models.student import build_student, count_parameters, student_config

    model = build_student(student_config(arch)).eval()
    named = {"fcn_1k": 1_000, "fcn_5k": 5_000, "fcn_20k": 20_000, "fcn_80k": 80_000}[arch]
    assert abs(count_parameters(model) - named) < 0.15 * named
    x = torch.randn(1, 4000, 2)
    r, unit = model.reach, model.unit
    with torch.no_grad():
        whole = model(x)[0]
        start = 50 * unit                               # a stretch on the unit grid, reach of margin
        part = model(x[:, start - r:start + 1000 + r])[0][r:r + 1000]
        assert model(x[:, :300]).shape == (1, 300)      # any length
    assert torch.allclose(whole[start:start + 1000], part, atol=1e-5)


def test_fcn_detects_in_one_pass_per_chunk_and_onnx_agrees(ecg250, tmp_path):
    from tsad.models.export import export_onnx

    run = _fcn_run(tmp_path)
    detector = loader.load(str(run), Workspace(tmp_path / "ws"), device="cpu")
    assert detector.full_probs is not None and detector.reach > 0
    detector.threshold = 0.0                # untrained: any peak is a beat, so that there are many
    signal, _ = ecg250
    whole = detect_stream(detector, array_source(signal, FS), chunk_s=1e6)
    parts = detect_stream(detector, array_source(signal, FS), chunk_s=37)
    assert len(whole.samples) > 100 and np.array_equal(whole.samples, parts.samples)
    assert np.allclose(whole.prob, parts.prob, atol=1e-4)      # resampled in pieces: float rounding
    export_onnx(run)
    fast = loader.load(str(run), Workspace(tmp_path / "ws"), backend="onnx", threads=1)
    assert fast.backend == "onnx" and fast.model is None and fast.reach == detector.reach
    fast.threshold = 0.0
    by_onnx = detect_stream(fast, array_source(signal, FS), chunk_s=37)
    assert np.allclose(by_onnx.prob, whole.prob, atol=1e-4)


def test_auto_backend_is_onnx_only_for_a_current_export(tmp_path):
    """``auto`` (the default of detect.py and tsad.api) runs onnxruntime where the run holds a
    model.onnx of its current checkpoint, torch where it holds none or a stale one; it never exports."""
    from tsad.core.checkpoint import load_checkpoint, save_checkpoint
    from tsad.core.paths import ONNX_FILE
    from tsad.models.export import export_onnx

    run = _fcn_run(tmp_path)
    ws = Workspace(tmp_path / "ws")
    assert loader.load(str(run), ws, backend="auto").backend == "torch" and not (run / ONNX_FILE).exists()
    with pytest.raises(predictor.DetectionError, match="no model.onnx exported from its current checkpoint"):
        loader.load(str(run), ws, backend="onnx")
    export_onnx(run)
    fast = loader.load(str(run), ws, backend="auto")
    assert fast.backend == "onnx" and fast.info["backend"] == "onnx" and fast.run_dir == run.resolve()
    assert loader.load(str(run), ws, backend="torch").backend == "torch"
    state = load_checkpoint(run / "best.pth")
    state["model"] = {k: v + 1 if v.is_floating_point() else v for k, v in state["model"].items()}
    save_checkpoint(run / "best.pth", state)             # retrained: the export is stale now
    stale = loader.load(str(run), ws, backend="auto")
    assert stale.backend == "torch" and stale.info["backend"] == "torch"
    xqrs = loader.load("xqrs", ws, backend="auto")
    assert xqrs.backend is None and xqrs.run_dir is None and xqrs.lead_beats is not None
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        loader.load(str(run), ws, backend="tensorrt")


def test_detect_runs_the_shipped_model_through_onnxruntime_by_default(shipped, ecg250, tmp_path):
    signal, _ = ecg250
    _write(tmp_path / "rec", "two", signal[:120 * FS])
    by_default = run_script(DETECT, ["--run", "pretrained", "--input-dir", str(tmp_path / "rec"),
                                     "--out", str(tmp_path / "auto")])
    by_torch = run_script(DETECT, ["--run", "pretrained", "--input-dir", str(tmp_path / "rec"),
                                   "--out", str(tmp_path / "torch"), "--backend", "torch"])
    meta = {name: json.loads(Path(result["meta"]).read_text()) for name, result in
            (("auto", by_default), ("torch", by_torch))}
    assert meta["auto"]["backend"] == "onnx" and meta["torch"]["backend"] == "torch"
    assert meta["auto"]["description"].endswith("(onnxruntime)")
    assert by_default["records"][0]["beats"] == by_torch["records"][0]["beats"] > 100


@pytest.mark.parametrize("block", [100_000, 7])
@pytest.mark.parametrize("case", ["beats", "gaps", "far apart", "one"])
def test_annotation_files_are_the_bytes_wrann_writes(case, block, tmp_path, monkeypatch):
    import wfdb

    from tsad.detection import folders
    from tsad.detection.folders import annotation_bytes

    monkeypatch.setattr(folders, "ANNOTATION_BLOCK", block)   # blocks of 7: every case crosses them

    rng = np.random.default_rng(3)
    samples = np.cumsum(rng.integers(40, 400, size=300))
    symbols, aux = ["N"] * len(samples), [""] * len(samples)
    if case == "gaps":
        samples = np.sort(np.r_[samples, 5000, 9000])
        symbols, aux = ["N"] * len(samples), [""] * len(samples)
        for k in np.flatnonzero(np.isin(samples, [5000, 9000])):
            symbols[k], aux[k] = "~", ("gap" if samples[k] == 5000 else "signal")
    if case == "far apart":
        samples = np.r_[samples, samples[-1] + 5_000_000, samples[-1] + 5_000_500]
        symbols, aux = ["N"] * len(samples), [""] * len(samples)
    if case == "one":
        samples, symbols, aux = samples[:1], symbols[:1], aux[:1]
    wfdb.wrann("rec", "tsad", samples, symbol=symbols, aux_note=aux, fs=360.0, write_dir=str(tmp_path))
    assert annotation_bytes("rec", "tsad", samples, symbols, aux, 360.0) == (tmp_path / "rec.tsad").read_bytes()


def test_threshold_counts_read_the_leads_asked_for(shipped, ecg250, tmp_path):
    """The threshold study's counts (tsad.detection.thresholds.threshold_counts, RESULTS Z) on one lead are
    what detection on that lead finds, matched at 150 ms, at every threshold of the grid."""
    import wfdb

    from tsad.detection.thresholds import threshold_counts

    signal, beats = ecg250
    signal = signal[:120 * FS].copy()
    beats = beats[beats < 120 * FS]
    signal[:, 1] *= 0.15        # a second lead with small beats: its counts differ from both leads'
    _write(tmp_path, "rec", signal)
    wfdb.wrann("rec", "atr", np.asarray(beats), symbol=["N"] * len(beats), fs=FS, write_dir=str(tmp_path))
    grid = (0.1, 0.5, 0.9)
    second, _ = threshold_counts(shipped, [tmp_path / "rec"], grid, leads=[1])
    both, _ = threshold_counts(shipped, [tmp_path / "rec"], grid)
    for k, thr in enumerate(grid):
        det = records.detect_record(shipped, tmp_path / "rec", threshold=thr, leads=[1])
        m = match_beats(beats, det.samples, tolerance_samples(FS))
        assert tuple(second[k]) == (m.tp, m.fp, m.fn)
    assert not np.array_equal(second, both)
