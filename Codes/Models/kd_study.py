"""The distillation study: students at lambda 0, 0.5 and 1 for each teacher, over seeds and
record-wise folds, scored on whole test records; a table, a summary with 95% intervals and a figure.

    python Codes/Models/kd_study.py --workspace W --input-dir PATH/svdb [--teachers picture context] [--jobs 2]
    python Codes/Models/kd_study.py --workspace W --input-dir PATH/svdb --print-commands   (for a scheduler)
    python Codes/Models/kd_study.py --workspace W --input-dir PATH/svdb --resume           (skip finished runs)

Every flag: --help. The stage's code: Codes/tsad/cli/kd_study.py (also python -m tsad.cli.kd_study).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
