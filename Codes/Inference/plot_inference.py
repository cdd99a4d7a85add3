"""Score every inference output of a workspace, write the results table and the evaluation figures.

    python Codes/Inference/plot_inference.py --workspace W [--threshold X] [--tolerance 2] [--n-examples 4]

Every flag: --help. The stage's code: Codes/tsad/cli/plot_inference.py (also python -m tsad.cli.plot_inference).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
