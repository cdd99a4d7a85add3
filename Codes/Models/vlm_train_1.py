"""Fine-tune the SmolVLM teacher vlm_1 (its registry entry: alpha = 1) into <workspace>/vlm_1/.

    python Codes/Models/vlm_train_1.py --workspace W [--model tiny|HuggingFaceTB/SmolVLM-256M-Instruct|DIR]
    torchrun --nproc_per_node=N Codes/Models/vlm_train_1.py --workspace W --model DIR   (several GPUs)

With alpha = 1 the loss is the cosine term alone (no BCE)."""

try:
    from tsad import teacher_train
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = teacher_train.script_main(__file__, __name__, __doc__)
