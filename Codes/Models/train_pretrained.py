"""Train the model that ships in pretrained/: every record of the workspace, a few validating.

    python Codes/Dataset/data_generate.py --workspace W --input-dir PATH/svdb PATH/mitdb
    python Codes/Models/train_pretrained.py --workspace W --preset fast         --cv-summary W/cv/fcn20k-sig2/summary.csv          # the shipped model
    python Codes/Models/train_pretrained.py --workspace W --name tcn_svdb_mitdb --preset recommended
    python Codes/Models/train_pretrained.py --workspace W --name fcn5k_svdb_mitdb --arch fcn_5k [recipe]         --teacher pretrained_build/ens --lam 0.5        # a small student distilled from a teacher

Every flag: --help. The stage's code: Codes/tsad/cli/train_pretrained.py (also python -m tsad.cli.train_pretrained).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
