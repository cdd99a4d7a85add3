"""Score every test window with the alpha = 1 teacher; writes all_*_vlm_1.npy into <workspace>/vlm_1/.

    python Codes/Inference/vlm/vlm_1_infer.py --workspace W [--batch-size 32] [--device cuda]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # Codes/: tsad imports without installing

from tsad import teacher_infer  # noqa: E402

ALPHA = 1


def main(argv=None):
    return teacher_infer.main(argv, alpha=ALPHA, doc=__doc__)


if __name__ == "__main__":
    main()
