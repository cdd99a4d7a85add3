"""Fine-tune the SmolVLM teacher vlm_1 (its registry entry: alpha = 1) into <workspace>/vlm_1/.

    python Codes/Models/vlm_train_1.py --workspace W [--model tiny|HuggingFaceTB/SmolVLM-256M-Instruct|DIR]
    torchrun --nproc_per_node=N Codes/Models/vlm_train_1.py --workspace W --model DIR   (several GPUs)

With alpha = 1 the loss is the cosine term alone (no BCE)."""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
