"""Record-wise cross-validation of the classical beat classifiers (RR-interval and morphology
features; linear discriminant and gradient boosting), scored as EC57 scores beat classes (VEB and
SVEB Se, +P, FPR), per database.

    python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name classical

Every flag: --help. The stage's code: Codes/tsad/cli/beat_classes_cv.py (also python -m tsad.cli.beat_classes_cv).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
