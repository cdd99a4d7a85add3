"""Distil a teacher into the student: (1-lam)*BCE(s, y) + lam*T^2*BCE(s/T, sigmoid(t/T)).

    python Codes/Models/kd_train.py --workspace W --lam 0.5 --teacher vlm_1 --temperature 2 [--preset ...] [--arch ...]

The frozen teacher's logits for the train and val windows are computed once (batched, best
device) and cached in W/cache/teacher_logits/, keyed by a hash of W/<teacher>/smolvlm_best.pth;
later epochs and runs read the cache. Presets and architectures as in student_train.py (10 epochs
in the seed preset). Writes W/KD_train_<lam>_<teacher>/ (other architectures: ..._<arch>/).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
