"""Record-wise cross-validation of a student (or a classical detector) on whole records.

    python Codes/Models/student_cv.py --workspace W --name recommended --preset recommended
    python Codes/Models/student_cv.py --workspace W --name xqrs --detector xqrs
    python Codes/Models/student_cv.py --workspace W --name lodo-mitdb --test-database mitdb --preset recommended
    python Codes/Models/student_cv.py --workspace W --compare xqrs recommended     # table of finished CVs
    python Codes/Models/student_cv.py --workspace W --name recommended-lead0 --models-from recommended --leads 0
    python Codes/Models/student_cv.py --workspace W --name fcn5k-kd --arch fcn_5k [recipe]         --lam 0.5 --fold-teacher cv/ens/fold{fold}            # distilled from each fold's own teacher

Every flag: --help. The stage's code: Codes/tsad/cli/student_cv.py (also python -m tsad.cli.student_cv).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
