"""Score every test window with the teacher vlm_1; writes all_*_vlm_1.npy into <workspace>/vlm_1/.

    python Codes/Inference/vlm/vlm_1_infer.py --workspace W [--batch-size 32] [--device cuda]

The model is rebuilt from its checkpoint alone (tsad/registry.py names the run)."""

try:
    from tsad import teacher_infer
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = teacher_infer.script_main(__file__, __name__, __doc__)
