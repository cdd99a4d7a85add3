"""Turn WFDB ECG records into 2-second windows, per-sample beat labels and 512x512 plot images.

    python Codes/Dataset/data_generate.py --input-dir ../shared/data/svdb --records 800 801
    python Codes/Dataset/data_generate.py --input-dir PATH/svdb PATH/mitdb   # two databases together
    python Codes/Dataset/data_generate.py --download svdb      # PhysioNet, needs the network
    python Codes/Dataset/data_generate.py                      # the synthetic demo database

Every flag: --help. The stage's code: Codes/tsad/cli/data_generate.py (also python -m tsad.cli.data_generate).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
