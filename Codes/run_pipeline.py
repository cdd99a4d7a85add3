"""Run every stage in order: data, split, the teachers and their inference, the plain student, the
distilled students, student inference, loss curves and the evaluation table; the runs are those of
tsad/training/grid.py (by default the seed's grid of teacher alphas and student lambdas).

    python Codes/run_pipeline.py                                  # embedded default: demo data, tiny teacher
    python Codes/run_pipeline.py --quick                          # a reduced run (what CI executes)
    python Codes/run_pipeline.py --input-dir ../shared/data/svdb --model HuggingFaceTB/SmolVLM-256M-Instruct
    python Codes/run_pipeline.py --resume                         # skip steps whose outputs are complete
    python Codes/run_pipeline.py --quick --seconds 4 --fs 250     # another window geometry

Every flag: --help. The stage's code: Codes/tsad/cli/run_pipeline.py (also python -m tsad.cli.run_pipeline).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
