"""The ``tsad`` command: the stage scripts most people call, by name, from any directory.

    tsad detect --run pretrained --input-dir PATH/records       # = python Codes/Inference/detect.py ...
    tsad evaluate --detections W/detections/pretrained --input-dir PATH/records
    tsad cv --name NAME --preset recommended                    # = Codes/Models/student_cv.py
    tsad app                                                    # = streamlit run Codes/GUI/0_Homepage.py
    tsad --help

Each subcommand runs the function its script runs (``tsad.core.scripts.SCRIPTS``) with the remaining
arguments, as the script would; ``tsad <subcommand> --help`` shows its flags. ``tsad app`` starts
streamlit on the app of the checkout that installed the package (``pip install -e .``, as
requirement.txt does).
"""

from __future__ import annotations

import subprocess
import sys

from tsad.core.errors import run_cli
from tsad.core.paths import REPO_ROOT
from tsad.core.scripts import entry

# subcommand -> (script under Codes/, what it does); one table, read by --help and by the dispatch
COMMANDS = {
    "detect": ("Inference/detect.py", "detect every beat of whole WFDB records (a model or a classical detector)"),
    "evaluate": ("Inference/evaluate_records.py", "score detections beat by beat at 150 ms (EC57)"),
    "data": ("Dataset/data_generate.py", "records -> windows, labels and plots in a workspace"),
    "split": ("Dataset/data_split.py", "split the windows by window, record or fold"),
    "train": ("Models/student_train.py", "train a student"),
    "cv": ("Models/student_cv.py", "record-wise cross-validation on whole records"),
    "classes": ("Models/beat_classes_cv.py", "cross-validate the beat classifiers (VEB, SVEB)"),
    "classifier": ("Models/beat_classifier_train.py", "train the beat classifier beside a detector"),
    "verifier": ("Models/verifier_train.py", "train the beat verifier beside a detector (drops non-beats)"),
    "pretrained": ("Models/train_pretrained.py", "train the model shipped in pretrained/"),
    "pipeline": ("run_pipeline.py", "every stage in order"),
    "app": ("GUI/0_Homepage.py", "the Streamlit app (streamlit run)"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items())
    return f"usage: tsad <command> [flags]   (tsad <command> --help for its flags)\n\ncommands:\n{rows}\n"


def main(argv=None) -> int:
    """Runs ``tsad <command> [flags]``; returns the exit status (2 for an unknown command)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    script = COMMANDS[name][0]
    if name == "app":   # streamlit runs the app's page files itself
        return subprocess.call([sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "Codes" / script), *rest])
    function, bound = entry(script)
    saved, sys.argv = sys.argv, [f"tsad {name}", *rest]   # what --help shows as the program
    try:
        run_cli(lambda args: function(args, **bound), rest, script=f"tsad {name}")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.argv = saved
    return 0


def main_exit() -> None:
    """The console entry point: ``sys.exit(main())``."""
    sys.exit(main())
