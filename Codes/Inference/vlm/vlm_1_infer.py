"""Score every test window with the teacher vlm_1; writes all_*_vlm_1.npy into <workspace>/vlm_1/.

    python Codes/Inference/vlm/vlm_1_infer.py --workspace W [--batch-size 32] [--device cuda]

The model is rebuilt from its checkpoint alone (tsad/training/grid.py names the run)."""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
