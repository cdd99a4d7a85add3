"""Trains the beat verifier of a detector (what it calls "not a beat", detection drops) and saves it in
the detector's run folder.

    python Codes/Models/verifier_train.py --run pretrained --input-dir ../shared/data/svdb ../shared/data/mitdb

Every flag: --help. The stage's code: Codes/tsad/cli/verifier_train.py (also python -m tsad.cli.verifier_train).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
