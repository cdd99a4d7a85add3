"""Make an ensemble teacher from students already trained on the same records: the mean of their logits.

    python Codes/Models/ensemble_teacher.py --workspace W --name ens_fold0         --members cv/both-recommended/fold0 cv/both-onelead/fold0
    python Codes/Models/ensemble_teacher.py --workspace W --name cv/ens/fold{fold} --folds 5         --members cv/both-recommended/fold{fold} cv/both-onelead/fold{fold}     # one per fold

Every flag: --help. The stage's code: Codes/tsad/cli/ensemble_teacher.py (also python -m tsad.cli.ensemble_teacher).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
