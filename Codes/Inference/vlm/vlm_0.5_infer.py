"""Score every test window with the teacher vlm_0.5; writes all_*_vlm_0.5.npy into <workspace>/vlm_0.5/.

    python Codes/Inference/vlm/vlm_0.5_infer.py --workspace W [--batch-size 32] [--device cuda]

Everything about the model comes from <workspace>/vlm_0.5/smolvlm_best.pth; the run is registered in
tsad/training/grid.py."""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
