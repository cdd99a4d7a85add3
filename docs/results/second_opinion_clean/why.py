"""RESULTS section AG: why the clean-signal gate kept so little of section AE's clean gain. On clean
mitdb, the beats the fold detectors of each seed find under p = 0.4 that GQRS does not confirm within
150 ms (what section AE's second opinion asks to drop, before the verifier), counted as false or true
beats (EC57's 150 ms) and by how clean ``local_snr_db`` reads them (at or above 12 dB: asked by AG).
The verifier's own drops are not applied here (its fold models are not kept by beat_classes_cv.py).

    python docs/results/second_opinion_clean/why.py --workspace W --out docs/results/second_opinion_clean/why.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "Codes"))
sys.path.insert(0, str(ROOT / "Codes" / "Models"))

from tsad.cli.beat_classes_cv import detection_folds, fold_scores  # noqa: E402
from tsad.core.fileio import save_text  # noqa: E402
from tsad.core.geometry import tolerance_samples  # noqa: E402
from tsad.data.ecg import beat_class  # noqa: E402
from tsad.data.generate import list_records  # noqa: E402
from tsad.detection.records import detect_signal  # noqa: E402
from tsad.detection.second_opinion import confirmed, local_snr_db  # noqa: E402
from tsad.experiments.beat_classes import FS, read_beats  # noqa: E402
from tsad.models import loader  # noqa: E402
from tsad.scoring.beats import match_beats  # noqa: E402
from tsad.scoring.ec57 import read_detections  # noqa: E402

P = 0.4
ASK_ABOVE_DB = 12.0


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--workspace", required=True, help="the workspace of sections G-AG (its cv/g-s-t02, cv/g-s-s1-t02)")
    p.add_argument("--input-dir", default=str(ROOT.parent / "shared" / "data" / "mitdb"), help="the mitdb records")
    p.add_argument("--out", default=None, help="csv of the counts (default: printed only)")
    args = p.parse_args(argv)
    gqrs = loader.load("gqrs")
    rows = []
    for seed, cv in (("42", "g-s-t02"), ("1", "g-s-s1-t02")):
        cv_dir = Path(args.workspace) / "cv" / cv
        folds = detection_folds(cv_dir)
        for name in tqdm(list_records(Path(args.input_dir)), desc=f"seed {seed}", unit="rec", disable=None):
            k = next(k for k, test in enumerate(folds) if name in test)
            found = read_detections(cv_dir / f"fold{k}" / "detections", name, "tsad")
            record = read_beats(Path(args.input_dir) / name, "mitdb", found, keep_signal=True,
                                scores=fold_scores(cv_dir / f"fold{k}", name, found))
            if record.paced:
                continue
            det = record.detected
            other = detect_signal(gqrs, record.signal, FS, name=name).samples
            asked = ~confirmed(det.samples, det.scores, other, FS, P)
            clean = local_snr_db(record.signal[:, 0], det.samples, det.scores >= P, FS) >= ASK_ABOVE_DB
            match = match_beats(record.samples, det.samples, tolerance_samples(FS))   # EC57's one-to-one match
            reference_of = dict(zip(match.det_index.tolist(), match.ref_index.tolist()))
            for i in np.flatnonzero(asked):
                hit = reference_of.get(int(i))
                rows.append({"seed": seed, "record": name, "true_beat": hit is not None,
                             "class": beat_class(record.symbols[hit]) if hit is not None else "false",
                             "clean_at_12": bool(clean[i]), "score": round(float(det.scores[i]), 3)})
    table = pd.DataFrame(rows)
    counts = table.groupby(["seed", "class", "clean_at_12"]).size().unstack(fill_value=0)
    print(counts.to_string())
    print(table[table["class"] == "false"].groupby(["record", "clean_at_12"]).size().unstack(fill_value=0).to_string())
    if args.out:
        save_text(args.out, table.to_csv(index=False))
    return table


if __name__ == "__main__":
    main()
