"""Train a picture teacher: a small convolutional model reading the 512x512 plots, trained here from random
initialisation; it stands in for a pretrained VLM.

    python Codes/Models/picture_teacher_train.py --workspace W [--channels 32] [--pool 4] [--limit-train N] [--resume]
    python Codes/Models/kd_train.py --workspace W --teacher picture_teacher --lam 0.5 --temperature 2

Trains on W's train split, early-stopped on its val split (BCE on the beat labels), into
W/picture_teacher/ (smolvlm_best.pth, kind "teacher", its config inside; last.pth for --resume).
kd_train.py then distils from it through the teacher-logit cache (tsad.training.distill), as from a VLM
teacher. Defaults (tsad/teachers/picture.py) are sized for a 2-core CPU.
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
