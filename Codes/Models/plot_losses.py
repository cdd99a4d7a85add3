"""Plot train and validation loss against epoch for every trained run in the workspace.

    python Codes/Models/plot_losses.py --workspace W

Every flag: --help. The stage's code: Codes/tsad/cli/plot_losses.py (also python -m tsad.cli.plot_losses).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
