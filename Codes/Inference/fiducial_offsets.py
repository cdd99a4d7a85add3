"""Where do the annotators put a beat? Offsets of the reference annotations from signal features.

    python Codes/Inference/fiducial_offsets.py --input-dir PATH/svdb [--out W/fiducial_offsets.csv]
        [--detections W/cv/NAME]

Every flag: --help. The stage's code: Codes/tsad/cli/fiducial_offsets.py (also python -m tsad.cli.fiducial_offsets).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
