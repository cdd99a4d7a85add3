"""Score every test window with the teacher vlm_0.5; writes all_*_vlm_0.5.npy into <workspace>/vlm_0.5/.

    python Codes/Inference/vlm/vlm_0.5_infer.py --workspace W [--batch-size 32] [--device cuda]

Everything about the model comes from <workspace>/vlm_0.5/smolvlm_best.pth; the run is registered in
tsad/registry.py."""

try:
    from tsad import teacher_infer
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = teacher_infer.script_main(__file__, __name__, __doc__)
