"""The app's Records page with streamlit's AppTest, on whole-record detections made by the real
scripts: a two-record demo database (1 minute each), detect.py --run xqrs and evaluate_records.py
into the workspace, detect.py --run gqrs on a copy whose second record has no .atr (so the page
scores on the fly), and broken copies for the error messages. Expected counts are worked out here
from the annotation files, without tsad.scoring.ec57."""

from __future__ import annotations

import functools
import json
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from tsad.app import records_view

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

GUI = REPO / "Codes" / "GUI"
PAGE = "pages/5_Records.py"
DETECT = REPO / "Codes" / "Inference" / "detect.py"
EVALUATE = REPO / "Codes" / "Inference" / "evaluate_records.py"
TIMEOUT = 60
FS = 128                      # the demo database's rate
TOLERANCE = 19                # 150 ms at 128 Hz, in samples
DEMO_BEAT_SYMBOLS = {"N", "S", "V"}   # the demo writes these beats and a '+' rhythm mark


def run_script(script: Path, argv: list[str]) -> None:
    runpy.run_path(str(script), run_name="records_page_fixture")["main"](argv)


@functools.cache
def make_detection_setup(root: Path, ws: Path | None = None) -> dict[str, Path]:
    """The demo records in ``root``, and in the workspace (default ``root/ws``) detections/xqrs
    (scored) and detections/gqrs, whose demo01 has no reference annotations (not scored). Built
    once per root."""
    from tsad.data.demo_db import DemoConfig, write_demo_database

    db, no_atr, ws = root / "db", root / "db_no_atr", ws or root / "ws"
    write_demo_database(db, DemoConfig(n_records=2, minutes=1))
    shutil.copytree(db, no_atr)
    (no_atr / "demo01.atr").unlink()
    run_script(DETECT, ["--run", "xqrs", "--input-dir", str(db), "--workspace", str(ws)])
    run_script(EVALUATE, ["--detections", str(ws / "detections" / "xqrs"), "--input-dir", str(db),
                          "--bootstrap", "200"])
    run_script(DETECT, ["--run", "gqrs", "--input-dir", str(no_atr), "--workspace", str(ws)])
    return {"db": db, "no_atr": no_atr, "ws": ws, "xqrs": ws / "detections" / "xqrs",
            "gqrs": ws / "detections" / "gqrs"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    return make_detection_setup(tmp_path_factory.getbasetemp() / "records_page")


def annotation_samples(folder: Path, record: str, ext: str, beats_only: bool) -> np.ndarray:
    import wfdb

    ann = wfdb.rdann(str(folder / record), ext)
    keep = [s in DEMO_BEAT_SYMBOLS for s in ann.symbol] if beats_only else [True] * len(ann.symbol)
    return np.sort(np.asarray(ann.sample, np.int64)[keep])


def hand_counts(ref: np.ndarray, det: np.ndarray) -> dict:
    """Beats are >= 0.3 s apart and the tolerance is 150 ms, so no detection reaches two reference
    beats: a reference beat is matched exactly when some detection lies within the tolerance."""
    near = np.abs(det[None, :] - ref[:, None]) <= TOLERANCE
    tp = int(near.any(axis=1).sum())
    assert (near.sum(axis=0) <= 1).all()  # the premise above
    return {"TP": tp, "FP": len(det) - tp, "FN": len(ref) - tp, "n_ref": len(ref), "n_det": len(det)}


def hand_errors_s(ref: np.ndarray, det: np.ndarray) -> np.ndarray:
    """Seconds of the misses and false detections; each reference beat keeps its nearest detection."""
    near = np.abs(det[None, :] - ref[:, None]) <= TOLERANCE
    kept = {int(np.argmin(np.abs(det - r))) for r, row in zip(ref, near) if row.any()}
    false = [d for k, d in enumerate(det) if k not in kept]
    missed = ref[~near.any(axis=1)]
    return np.sort(np.concatenate([false, missed])) / FS


def page_on(ws_root: Path, monkeypatch, folder: Path | None = None) -> AppTest:
    monkeypatch.setenv("TSAD_WORKSPACE", str(ws_root))
    at = AppTest.from_file(str(GUI / "0_Homepage.py"), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    if folder is not None:
        at.selectbox(key="tsad_records_folder").set_value(str(folder)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_stretch(at: AppTest) -> str:
    return at.subheader[0].value


def metrics(at: AppTest) -> dict[str, int]:
    return {m.label: int(m.value) for m in at.metric}


def test_page_shows_the_scored_table_and_the_record(setup, monkeypatch):
    at = page_on(setup["ws"], monkeypatch)
    assert at.selectbox(key="tsad_records_folder").options == ["gqrs", "xqrs"]   # labels of the folders
    at.selectbox(key="tsad_records_folder").set_value(str(setup["xqrs"])).run()
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="tsad_records_record").value == "demo00"
    table = at.dataframe[0].value.set_index("record")
    assert list(table.index) == ["demo00", "demo01"]
    for record in ("demo00", "demo01"):
        expected = hand_counts(annotation_samples(setup["db"], record, "atr", True),
                               annotation_samples(setup["xqrs"], record, "tsad", False))
        assert table.loc[record, list(expected)].to_dict() == expected, record
    ref = annotation_samples(setup["db"], "demo00", "atr", True)
    det = annotation_samples(setup["xqrs"], "demo00", "tsad", False)
    counts = hand_counts(ref, det)
    assert metrics(at) == {"Reference beats": counts["n_ref"], "Detected": counts["n_det"],
                           "Matched (TP)": counts["TP"], "Missed (FN)": counts["FN"],
                           "False (FP)": counts["FP"]}
    summary = at.dataframe[1].value.set_index("figure")
    tp, fp, fn = (int(table[c].sum()) for c in ("TP", "FP", "FN"))
    assert summary.loc["gross F1", "value"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert "records.csv" in " ".join(c.value for c in at.caption)
    assert len(at.image) == 1


def test_slider_and_number_move_the_shown_stretch(setup, monkeypatch):
    ref = annotation_samples(setup["db"], "demo00", "atr", True)
    det = annotation_samples(setup["xqrs"], "demo00", "tsad", False)
    at = page_on(setup["ws"], monkeypatch, setup["xqrs"])
    first_image = at.image[0].value
    at.slider(key="tsad_records_start_slider").set_value(20).run()
    in_view = int(((ref >= 20 * FS) & (ref < 30 * FS)).sum())
    detected = int(((det >= 20 * FS) & (det < 30 * FS)).sum())
    assert shown_stretch(at).startswith(f"demo00: 20–30 s of 60 s: {detected} detected, "
                                        f"{in_view} reference beat(s)")
    assert at.number_input(key="tsad_records_start_number").value == 20
    assert at.image[0].value != first_image
    at.number_input(key="tsad_records_start_number").set_value(44).run()
    assert shown_stretch(at).startswith("demo00: 44–54 s of 60 s")
    assert at.slider(key="tsad_records_start_slider").value == 44
    at.selectbox(key="tsad_records_length").set_value(30).run()   # 44 + 30 is past the end: back to 30
    assert shown_stretch(at).startswith("demo00: 30–60 s of 60 s")
    assert at.slider(key="tsad_records_start_slider").value == 30
    assert not at.exception and not at.error


def test_next_and_previous_error_jump_between_misses_and_false_detections(setup, monkeypatch):
    errors = hand_errors_s(annotation_samples(setup["db"], "demo00", "atr", True),
                           annotation_samples(setup["xqrs"], "demo00", "tsad", False))
    assert len(errors) >= 2  # the demo's premature beats fool xqrs a few times
    starts = sorted({max(0, int(np.floor(t - 1.0))) for t in errors} - {0})
    at = page_on(setup["ws"], monkeypatch, setup["xqrs"])
    for start in starts:
        at.button(key="tsad_records_next").click().run()
        assert at.session_state["tsad_records_start"] == start
        assert shown_stretch(at).startswith(f"demo00: {start}–{start + 10} s")
        assert not shown_stretch(at).endswith("0 missed, 0 false")   # the error is in view
    assert at.button(key="tsad_records_next").disabled
    at.button(key="tsad_records_previous").click().run()
    assert at.session_state["tsad_records_start"] == ([0, *starts])[-2]
    assert not at.exception and not at.error


def test_record_without_annotations_and_scoring_on_the_fly(setup, monkeypatch):
    at = page_on(setup["ws"], monkeypatch, setup["gqrs"])
    at.selectbox(key="tsad_records_record").set_value("demo01").run()
    assert not at.exception and not at.error
    assert "demo01 has no reference annotations" in at.info[0].value
    assert not at.metric and len(at.image) == 1
    det = annotation_samples(setup["gqrs"], "demo01", "tsad", False)
    assert shown_stretch(at) == f"demo01: 0–10 s of 60 s: {int((det < 10 * FS).sum())} detected"
    table = at.dataframe[0].value.set_index("record")
    assert list(table.index) == ["demo00"]           # only the annotated record is scored
    expected = hand_counts(annotation_samples(setup["no_atr"], "demo00", "atr", True),
                           annotation_samples(setup["gqrs"], "demo00", "tsad", False))
    assert table.loc["demo00", list(expected)].to_dict() == expected
    assert "scored now over the whole records (1 of 2" in " ".join(c.value for c in at.caption)


def test_an_empty_workspace_says_how_to_make_detections(tmp_path, monkeypatch):
    at = page_on(tmp_path / "empty", monkeypatch)
    assert not at.error and not at.image and not at.dataframe
    assert "No detection folder in this workspace" in at.info[0].value
    command = at.code[0].value
    assert "Codes/Inference/detect.py --run xqrs" in command
    assert f"--workspace {tmp_path / 'empty'}" in command
    assert "evaluate_records.py" in command


def broken_copy(setup, tmp_path: Path, edit) -> Path:
    """A copy of the xqrs folder whose records live in a copy of the database changed by ``edit``."""
    db, folder = tmp_path / "db", tmp_path / "det"
    shutil.copytree(setup["db"], db)
    shutil.copytree(setup["xqrs"], folder)
    (folder / "records.csv").unlink()
    meta = json.loads((folder / "detections.json").read_text())
    (folder / "detections.json").write_text(json.dumps({**meta, "input_dir": str(db)}))
    edit(db)
    return folder


def other_folder(setup, monkeypatch, folder: Path) -> AppTest:
    at = page_on(setup["ws"], monkeypatch)
    at.text_input(key="tsad_records_other").set_value(str(folder)).run()
    at.selectbox(key="tsad_records_folder").set_value(str(folder)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_unreadable_annotation_file_is_one_line(setup, monkeypatch, tmp_path):
    folder = broken_copy(setup, tmp_path, lambda db: (db / "demo00.atr").write_bytes(b"\xff\x07garbage"))
    at = other_folder(setup, monkeypatch, folder)
    errors = [e.value for e in at.error]
    assert errors and all("\n" not in e for e in errors)
    assert any("demo00" in e and "unreadable" in e for e in errors)
    assert not at.image


def test_a_record_missing_from_the_input_dir_is_one_line(setup, monkeypatch, tmp_path):
    folder = broken_copy(setup, tmp_path, lambda db: (db / "demo00.hea").unlink())
    at = other_folder(setup, monkeypatch, folder)
    errors = [e.value for e in at.error]
    assert any("demo00.hea not found" in e for e in errors) and all("\n" not in e for e in errors)


def test_a_folder_that_is_not_a_detection_folder(setup, monkeypatch, tmp_path):
    at = page_on(setup["ws"], monkeypatch)
    at.text_input(key="tsad_records_other").set_value(str(tmp_path / "nowhere")).run()
    assert [e.value for e in at.error] == [f"{tmp_path / 'nowhere'}: detection folder not found"]
    assert at.selectbox(key="tsad_records_folder").options == ["gqrs", "xqrs"]


def test_a_folder_without_the_record_and_the_saved_probability(setup, tmp_path):
    from tsad.models.predictor import DetectionError

    folder = records_view.read_folder(setup["xqrs"])
    with pytest.raises(DetectionError, match="no detections of record demo07"):
        records_view.load_record_view(folder, "demo07")
    copy = tmp_path / "with_probs"
    shutil.copytree(setup["xqrs"], copy)
    prob = np.linspace(0, 1, 60 * 64, dtype=np.float16)        # a model at 64 Hz over the minute
    np.save(copy / "demo00_probs.npy", prob)
    view = records_view.load_record_view(records_view.read_folder(copy), "demo00")
    assert view.prob_fs == 64 and len(view.prob) == len(prob)
    (copy / "demo00_probs.npy").write_bytes(b"not numpy")
    with pytest.raises(DetectionError, match="demo00_probs.npy: unreadable"):
        records_view.load_record_view(records_view.read_folder(copy), "demo00")


def test_missed_beats_show_their_class_and_the_next_miss_of_a_class(setup, monkeypatch, tmp_path):
    """A copy of the xqrs folder whose demo00 lacks the detections of every V beat and of one N
    beat: those beats are the record's misses, with the classes read here from the .atr."""
    import wfdb


    ann = wfdb.rdann(str(setup["db"] / "demo00"), "atr")
    symbol_at = {int(s): sym for s, sym in zip(ann.sample, ann.symbol) if sym in DEMO_BEAT_SYMBOLS}
    v_beats = sorted(s for s, sym in symbol_at.items() if sym == "V")
    n_beat = sorted(s for s, sym in symbol_at.items() if sym == "N")[10]
    dropped = np.array(sorted([*v_beats, n_beat]))
    det = annotation_samples(setup["xqrs"], "demo00", "tsad", False)
    kept = det[np.abs(det[:, None] - dropped[None, :]).min(axis=1) > TOLERANCE]
    folder = tmp_path / "fewer"
    shutil.copytree(setup["xqrs"], folder)
    for name in ("records.csv", "summary.csv", "demo00.tsad"):
        (folder / name).unlink()
    wfdb.wrann("demo00", "tsad", kept, symbol=["N"] * len(kept), fs=FS, write_dir=str(folder))
    assert len(v_beats) >= 2

    view = records_view.load_record_view(records_view.read_folder(folder), "demo00")
    missed = view.missed_beats()
    assert missed["sample"].tolist() == dropped.tolist()
    assert missed["symbol"].tolist() == [symbol_at[s] for s in dropped]
    assert missed["class"].tolist() == ["N" if s == n_beat else "V" for s in dropped]
    assert view.misses_by_class() == {"N": 1, "V": len(v_beats)}

    at = other_folder(setup, monkeypatch, folder)
    assert not at.error, [e.value for e in at.error]
    choice = at.selectbox(key="tsad_records_miss_class")
    assert choice.options == ["N (1 missed)", f"V ({len(v_beats)} missed)"]
    assert f"Missed beats by class: N 1, V {len(v_beats)}" in " ".join(c.value for c in at.caption)
    choice.set_value("V").run()
    starts = sorted({max(0, int(np.floor(s / FS - 1.0))) for s in v_beats} - {0})
    assert starts and max(0, int(np.floor(n_beat / FS - 1.0))) not in starts
    for start in starts:
        at.button(key="tsad_records_next_miss").click().run()
        assert at.session_state["tsad_records_start"] == start
        shown = at.table[0].value
        assert "V" in shown["class"].tolist()                  # the V beat jumped to is listed, as V
        assert set(shown["symbol"]) <= {"V", "N"}
    assert at.button(key="tsad_records_next_miss").disabled
    at.button(key="tsad_records_previous_miss").click().run()
    assert at.session_state["tsad_records_start"] == ([0, *starts])[-2]
    assert not at.exception and not at.error


def test_implausible_records_and_the_runs_warnings_are_shown_and_marked(setup, monkeypatch, tmp_path):
    folder = tmp_path / "flagged"
    shutil.copytree(setup["xqrs"], folder)
    (folder / "records.csv").unlink()                      # scored on the fly: flagged from detections.json
    meta = json.loads((folder / "detections.json").read_text())
    meta["records"][0]["warnings"] = ["no beat detected in 60 s"]
    meta.update(implausible_records=[meta["records"][0]["record"]], run_warnings=["F1 0.1000 on 8 windows"])
    (folder / "detections.json").write_text(json.dumps(meta))
    at = other_folder(setup, monkeypatch, folder)
    assert not at.error, [e.value for e in at.error]
    shown = [w.value for w in at.warning]
    assert "xqrs: its detection threshold was tuned with a warning: F1 0.1000 on 8 windows" in shown
    assert any(w.startswith("Implausible detections (detect.py's warnings) in 1 of 2 record(s): demo00")
               for w in shown)
    assert "demo00: implausible detection: no beat detected in 60 s" in shown     # the record on view
    table = at.dataframe[0].value.set_index("record")
    assert table["implausible"].to_dict() == {"demo00": True, "demo01": False}
    at.selectbox(key="tsad_records_record").set_value("demo01").run()
    assert not any(w.value.startswith("demo01:") for w in at.warning)


def test_the_scored_folder_has_no_warning(setup, monkeypatch):
    at = page_on(setup["ws"], monkeypatch, setup["xqrs"])
    assert not at.warning, [w.value for w in at.warning]
    table = at.dataframe[0].value
    assert table["implausible"].tolist() == [False, False]        # evaluate_records.py's column


def test_a_classifying_folder_shows_classes_and_jumps_to_the_next_v_s_and_misclassified(setup, monkeypatch,
                                                                                       tmp_path):
    """A copy of the xqrs folder as a classifying detector would write it: each detection carries the
    AAMI class of the reference beat it matches, but one V beat is called N."""
    import wfdb

    ann = wfdb.rdann(str(setup["db"] / "demo00"), "atr")
    ref = {int(s): sym for s, sym in zip(ann.sample, ann.symbol) if sym in DEMO_BEAT_SYMBOLS}
    det = annotation_samples(setup["xqrs"], "demo00", "tsad", False)
    ref_samples = np.array(sorted(ref))
    nearest = ref_samples[np.abs(det[:, None] - ref_samples[None, :]).argmin(axis=1)]
    labels = np.array([ref[int(r)] if abs(int(r) - int(d)) <= TOLERANCE else "N" for r, d in zip(nearest, det)],
                      dtype=object)
    v_at = np.flatnonzero(labels == "V")
    assert len(v_at) >= 2 and (labels == "S").any()
    labels[v_at[-1]] = "N"                                       # the misclassified one
    folder = tmp_path / "classes"
    shutil.copytree(setup["xqrs"], folder)
    for name in ("records.csv", "summary.csv", "demo00.tsad"):
        (folder / name).unlink()
    wfdb.wrann("demo00", "tsad", det, symbol=list(labels), fs=FS, write_dir=str(folder))
    meta = json.loads((folder / "detections.json").read_text())
    (folder / "detections.json").write_text(json.dumps({**meta, "classes": ["N", "S", "V", "F", "Q"]}))

    view = records_view.load_record_view(records_view.read_folder(folder), "demo00")
    counts = view.class_counts()
    assert counts["V"] == len(v_at) - 1 and counts["S"] == int((labels == "S").sum())
    wrong = view.misclassified()
    assert wrong[["sample", "class", "detected"]].values.tolist() == [[int(nearest[v_at[-1]]), "V", "N"]]

    at = other_folder(setup, monkeypatch, folder)
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    assert shown["Detected V"] == len(v_at) - 1 and shown["Detected S"] == counts["S"]
    max_start = int(np.ceil(view.duration_s - records_view.DEFAULT_WINDOW_S))
    at.button(key="tsad_records_next_V").click().run()
    assert at.session_state["tsad_records_start"] == records_view.next_error_start(view.class_times("V"), 0,
                                                                                    max_start)
    at.session_state["tsad_records_start"] = 0
    at.run()
    at.button(key="tsad_records_next_misclassified").click().run()
    start = at.session_state["tsad_records_start"]
    assert start == records_view.error_start(nearest[v_at[-1]] / FS, max_start) > 0
    table = at.table[-1].value
    assert table["detected"].tolist() == ["N"] and table["class"].tolist() == ["V"]
    assert not at.exception
