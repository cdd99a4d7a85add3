"""What a new user sees in the first hour (issue "A new user's first hour"): a detection folder found
by its run name from any folder, evaluate_records.py's compact table and the paths it wrote, a rerun
that skips every record saying only that, a tree of records answered with --recursive, no progress
bars in a log, and one results table from the main job."""

from __future__ import annotations

import pytest
from conftest import REPO, run_script

from tsad.core.paths import Workspace
from tsad.data.demo_db import DemoConfig, write_demo_database
from tsad.detection.archive import find_records
from tsad.models.predictor import DetectionError
from tsad.scoring.beats import ScoringError

DETECT = REPO / "Codes/Inference/detect.py"
EVALUATE = REPO / "Codes/Inference/evaluate_records.py"


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_hour")
    write_demo_database(root / "raw", DemoConfig(n_records=2, minutes=1))
    return root / "raw"


def test_evaluate_finds_what_detect_wrote_by_run_name_from_another_folder(raw, tmp_path, monkeypatch, capsys):
    ws = Workspace(tmp_path / "ws")
    run_script(DETECT, ["--workspace", str(ws.root), "--run", "xqrs", "--input-dir", str(raw)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    result = run_script(EVALUATE, ["--workspace", str(ws.root), "--detections", "xqrs", "--input-dir", str(raw),
                                   "--bootstrap", "50"])
    printed = capsys.readouterr().out
    folder = ws.root / "detections" / "xqrs"
    assert list(result["tables"]) == ["xqrs"] and (folder / "records.csv").is_file()
    # the compact table, and where every column went
    assert "| record | beats | TP | FP | FN | Se | PPV | F1 |" in printed
    assert "n_V" not in printed and "median_abs_error_ms" not in printed
    for name in ("records.csv", "summary.csv", "summary.md"):
        assert str(folder / name) in printed
    with pytest.raises(ScoringError, match="detection folder not found .*detections/nothing"):
        run_script(EVALUATE, ["--workspace", str(ws.root), "--detections", "nothing", "--input-dir", str(raw)])


def test_a_rerun_that_skips_every_record_says_so_and_no_speed(raw, tmp_path, capsys):
    args = ["--workspace", str(tmp_path / "ws"), "--run", "xqrs", "--input-dir", str(raw)]
    run_script(DETECT, args)
    first = capsys.readouterr()
    assert "x real time" in first.out
    again = run_script(DETECT, args)
    printed = capsys.readouterr()
    assert sorted(again["skipped"]) == ["demo00", "demo01"]
    assert "2 record(s) already detected" in printed.out and "nothing new to detect" in printed.out
    assert "real time" not in printed.out and "rec/s" not in printed.err and "%|" not in printed.err


def test_progress_bars_stay_out_of_a_log(raw, tmp_path, capsys):
    """Not a terminal (a log, a pipe, pytest's capture): no bar is drawn."""
    run_script(DETECT, ["--workspace", str(tmp_path / "ws"), "--run", "xqrs", "--input-dir", str(raw), "--redo"])
    assert "%|" not in capsys.readouterr().err


def test_a_tree_of_records_is_answered_with_recursive(raw, tmp_path):
    tree = tmp_path / "tree"
    (tree / "ward").mkdir(parents=True)
    for f in raw.glob("demo00.*"):
        (tree / "ward" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(DetectionError, match="its sub-folders hold 1: add --recursive"):
        find_records(tree)
    assert find_records(tree, recursive=True) == ["ward/demo00"]
    with pytest.raises(DetectionError, match="add --recursive"):
        run_script(DETECT, ["--workspace", str(tmp_path / "ws"), "--run", "xqrs", "--input-dir", str(tree)])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DetectionError) as err:
        find_records(empty)
    assert "--recursive" not in str(err.value)


def test_skip_reasons_say_what_to_point_the_variable_at(monkeypatch):
    import conftest

    monkeypatch.delenv(conftest.REQUIRE_ENV, raising=False)
    for var in ("TSAD_SVDB_DIR", "TSAD_MITDB_DIR", "TSAD_SMOLVLM_DIR"):
        monkeypatch.delenv(var, raising=False)
        with pytest.raises(pytest.skip.Exception, match=f"{var} is not set: point it at .*e.g. ../shared/"):
            conftest.shared_dir(var)


def test_the_shipped_model_card_says_where_it_is_weak_with_figures():
    from tsad.cli.model_card import _measured_limits
    from tsad.core.paths import MODEL_CARD, PRETRAINED_DIR, PRETRAINED_MODELS

    lines = "\n".join(_measured_limits("fast"))
    for fact in ("long sinus pauses (F1 0.949 there)", "2:1 AV block", "157-188", "first 0.3 s", "PPV 0.981"):
        assert fact in lines
    card = PRETRAINED_DIR / PRETRAINED_MODELS["pretrained"] / MODEL_CARD
    if card.is_file():
        assert "long sinus pauses (F1 0.949 there)" in card.read_text()
    assert "sinus pauses" not in "\n".join(_measured_limits("some other recipe"))
    # a model trained with noise-stress windows is not the model those figures were measured of: said first
    stressed = _measured_limits("fast", {"augment": {"stress": 0.3}})
    assert "this model was not measured there" in stressed[0] and "this model was not" not in lines
    if card.is_file() and '"stress": 0.3' in card.read_text():
        assert "this model was not measured there" in card.read_text()
    # its one-lead line is the one measured for that recipe (section Z), not the older recipe's
    one_lead = next(line for line in stressed if line.startswith("- One lead"))
    assert "section Z" in one_lead and "0.967 / 0.976" in one_lead and "section Z" not in lines
    if card.is_file() and '"stress": 0.3' in card.read_text():
        assert one_lead in card.read_text()


def test_the_readme_gives_the_timings_with_their_conditions():
    readme = (REPO / "README.md").read_text()
    assert "about 20-25 minutes\non a 2-core machine" in readme or "about 20-25 minutes on a 2-core machine" in readme
    assert "start-up included" in readme and "otherwise idle" in readme


def test_every_tsad_command_answers_help(capsys):
    from tsad.cli import command
    from tsad.core.scripts import SCRIPTS

    for name, (script, _) in command.COMMANDS.items():
        assert script in SCRIPTS or name == "app", name
        if name != "app":
            assert command.main([name, "--help"]) == 0, name
            assert f"usage: tsad {name}" in capsys.readouterr().out
