"""Makes a cross-validation reading's fold folders loadable detectors at a fixed threshold: each fold's
model (best.pth, metadata.json) copied from the cross-validation it was read from, and its
detection.json with the threshold replaced. A reading (`student_cv.py --models-from SRC --threshold T`)
holds detections only; `bench_noise.py --cv` and `beat_classes_cv.py --detections-cv` load a detector
from each fold folder. Used by RESULTS sections Y, AC and AD.

    python docs/results/fix_fold_threshold.py W/cv/g-s W/cv/g-s-t02 --threshold 0.2 --note "fixed 0.2 (RESULTS T, Y)"
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("source", type=Path, help="the cross-validation the models were trained in (cv/NAME)")
    p.add_argument("reading", type=Path, help="the reading's folder (cv/NAME-tXX), its fold folders written")
    p.add_argument("--threshold", type=float, required=True, help="the beat threshold written to detection.json")
    p.add_argument("--note", default="", help="a note stored in detection.json")
    args = p.parse_args(argv)
    folds = sorted(args.reading.glob("fold[0-9]*"))
    if not folds:
        raise SystemExit(f"{args.reading}: no fold folders (run student_cv.py --models-from first)")
    for fold in folds:
        for name in ("best.pth", "metadata.json"):
            shutil.copy2(args.source / fold.name / name, fold / name)
        detection = json.loads((args.source / fold.name / "detection.json").read_text())
        detection.update(threshold=args.threshold, note=args.note)
        (fold / "detection.json").write_text(json.dumps(detection))


if __name__ == "__main__":
    main()
