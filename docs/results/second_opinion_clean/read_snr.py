"""How clean ``tsad.detection.second_opinion.local_snr_db`` reads a record, on clean shared records and on
their nstdb-style noisy copies at known SNR (docs/RESULTS.md, section AG: where its threshold comes from).

Every fourth record of each database (svdb, mitdb; sorted names), lead 0 at 128 Hz, the reference beats
as the beats (all of them sure); the noisy copies by ``tsad.data.noise.add_noise`` (seed 1), read on
the beats inside the noisy stretches. No detector and no beat's outcome enters: this reads the
estimator against the noise added, nothing else.

    python docs/results/second_opinion_clean/read_snr.py --out docs/results/second_opinion_clean/read_snr.csv
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

from tsad.core.fileio import save_text  # noqa: E402
from tsad.data.generate import list_records  # noqa: E402
from tsad.data.noise import add_noise, noisy_mask  # noqa: E402
from tsad.detection.second_opinion import local_snr_db  # noqa: E402
from tsad.experiments.beat_classes import FS, read_beats  # noqa: E402

SNRS = (24, 18, 12, 6, 0)
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"), help="folder with svdb/ and mitdb/")
    p.add_argument("--every", type=int, default=4, help="read every n-th record of each database")
    p.add_argument("--seed", type=int, default=1, help="the noise draw")
    p.add_argument("--out", default=None, help="csv of the percentiles (default: printed only)")
    args = p.parse_args(argv)
    readings = {}
    for database in ("svdb", "mitdb"):
        folder = Path(args.shared) / database
        for name in tqdm(list_records(folder)[::args.every], desc=database, unit="rec", disable=None):
            record = read_beats(folder / name, database, keep_signal=True)
            beats, sure = record.samples, np.ones(len(record.samples), bool)
            inside = noisy_mask(len(record.signal), FS)[beats]
            readings.setdefault((database, "clean"), []).append(local_snr_db(record.signal[:, 0], beats, sure, FS))
            for snr in SNRS:
                noisy = add_noise(record.signal, beats, FS, snr, seed=args.seed)
                readings.setdefault((database, f"{snr} dB"), []).append(
                    local_snr_db(noisy[:, 0], beats, sure, FS)[inside])
    rows = []
    for (database, condition), parts in readings.items():
        values = np.concatenate(parts)
        rows.append({"database": database, "condition": condition, "beats": len(values),
                     **{f"p{q}": round(float(v), 1) for q, v in zip(PERCENTILES, np.percentile(values, PERCENTILES))},
                     "share_at_or_above_12": round(float(np.mean(values >= 12)), 4)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if args.out:
        save_text(args.out, table.to_csv(index=False))
    return table


if __name__ == "__main__":
    main()
