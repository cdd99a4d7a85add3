"""Train a picture teacher: a small convolutional model reading the 512x512 plots, trained here from random
initialisation; it stands in for a pretrained VLM.

    python Codes/Models/picture_teacher_train.py --workspace W [--channels 32] [--pool 4] [--limit-train N] [--resume]
    python Codes/Models/kd_train.py --workspace W --teacher picture_teacher --lam 0.5 --temperature 2

Trains on W's train split, early-stopped on its val split (BCE on the beat labels), into
W/picture_teacher/ (smolvlm_best.pth, kind "teacher", its config inside; last.pth for --resume).
kd_train.py then distils from it through the teacher-logit cache (tsad.distill), as from a VLM
teacher. Defaults (tsad.teachers.TRAIN_DEFAULTS) are sized for a 2-core CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Codes/: tsad imports without installing

from tsad import teachers  # noqa: E402


def main(argv=None) -> dict:
    return teachers.train_main(argv, "picture", __doc__)


if __name__ == "__main__":
    from tsad.locks import exit_on_lock_held  # a busy workspace: one line, exit 2

    exit_on_lock_held(main)
