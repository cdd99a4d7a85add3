"""Fine-tune the SmolVLM teacher with alpha = 1 (cosine weight; 1 - alpha on BCE) into <workspace>/vlm_1/.

    python Codes/Models/vlm_train_1.py --workspace W [--model tiny|HuggingFaceTB/SmolVLM-256M-Instruct|DIR]
    torchrun --nproc_per_node=N Codes/Models/vlm_train_1.py --workspace W --model DIR   (several GPUs)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Codes/: tsad imports without installing

from tsad import teacher_train  # noqa: E402

ALPHA = 1


def main(argv=None):
    return teacher_train.main(argv, alpha=ALPHA, doc=__doc__)


if __name__ == "__main__":
    from tsad.locks import exit_on_lock_held  # a busy workspace: one line, exit 2

    exit_on_lock_held(main)
