"""Fine-tune the SmolVLM teacher vlm_0.5 (its registry entry: alpha = 0.5) into <workspace>/vlm_0.5/.

    python Codes/Models/vlm_train_0.5.py --workspace W [--model tiny|HuggingFaceTB/SmolVLM-256M-Instruct|DIR]
    torchrun --nproc_per_node=N Codes/Models/vlm_train_0.5.py --workspace W --model DIR   (several GPUs)

The loss weighs the cosine term by alpha and the BCE by 1 - alpha: half and half here."""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
