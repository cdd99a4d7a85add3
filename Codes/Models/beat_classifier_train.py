"""Trains the beat classifier (each detected beat's AAMI class: N, S, V, F, Q) and saves it in a
detector's run folder, so that detection with that run classifies every beat.

    python Codes/Models/beat_classifier_train.py --run pretrained --input-dir ../shared/data/svdb ../shared/data/mitdb

Every flag: --help. The stage's code: Codes/tsad/cli/beat_classifier_train.py (also python -m tsad.cli.beat_classifier_train).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
