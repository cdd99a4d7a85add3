"""Split the generated windows into train/val/test (90/5/5 by default).

    python Codes/Dataset/data_split.py                       # shuffled, window-wise, as the seed
    python Codes/Dataset/data_split.py --by record           # inter-patient: no record in two splits
    python Codes/Dataset/data_split.py --test-records 803 807 --val-records 811   # named records
    python Codes/Dataset/data_split.py --folds 5 --fold 0    # record-wise k-fold (fold 0 tests)

Every flag: --help. The stage's code: Codes/tsad/cli/data_split.py (also python -m tsad.cli.data_split).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
