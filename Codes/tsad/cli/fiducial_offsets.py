"""Where do the annotators put a beat? Offsets of the reference annotations from signal features.

    python Codes/Inference/fiducial_offsets.py --input-dir PATH/svdb [--out W/fiducial_offsets.csv]
        [--detections W/cv/NAME]

For every beat annotation of every record, the offset (annotation minus feature, in samples at
the record's rate) to each of several QRS features found within +-12 samples of it: the largest
absolute value of the 5-20 Hz band-passed lead 1 and lead 2 (the QRS energy peak a detector finds),
the largest raw value of each lead (an upright R wave) and the steepest slope of lead 1. Per record
and feature: the median offset and the interquartile range. A feature the annotators followed has
a median near one constant across records and a small spread; the per-record medians say how far
each record's annotations sit from it. With --detections (a cross-validation folder of
student_cv.py, or any folder of records.csv files), each record's median detection offset is put
beside them, to see whether a model's timing misses follow the annotations' own offsets.
"""

from __future__ import annotations

from pathlib import Path

from tsad.core.common import make_parser
from tsad.core.errors import run_cli
from tsad.core.fileio import save_text
from tsad.data import ecg
from tsad.data.generate import list_records
from tsad.experiments.evaluate import to_markdown

SEARCH = 12
FEATURES = ("energy_lead1", "energy_lead2", "max_lead1", "max_lead2", "slope_lead1")


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--input-dir", required=True, help="folder of WFDB records with .atr annotations")
    p.add_argument("--records", nargs="+", default=None, help="records to analyse (default: all)")
    p.add_argument("--out", default=None, help="CSV to write (default: print only)")
    p.add_argument("--detections", default=None,
                   help="a folder whose records.csv files (any depth) give each record's median_offset_ms")
    return p.parse_args(argv)


def feature_offsets(signal, fs: float, beats) -> dict:
    """Per feature, the offsets (annotation - feature) in samples of every beat not too near an edge."""
    import numpy as np
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [5, 20], btype="band", fs=fs, output="sos")
    band = np.abs(sosfiltfilt(sos, signal, axis=0))
    slope = np.abs(np.gradient(signal[:, 0]))
    beats = np.asarray(beats)
    beats = beats[(beats >= SEARCH) & (beats < len(signal) - SEARCH)]
    idx = beats[:, None] + np.arange(-SEARCH, SEARCH + 1)[None, :]
    curves = {"energy_lead1": band[idx, 0], "max_lead1": signal[idx, 0], "slope_lead1": slope[idx]}
    if signal.shape[1] > 1:
        curves.update(energy_lead2=band[idx, 1], max_lead2=signal[idx, 1])
    # argmax gives the feature's position within the search window; SEARCH - it is annotation - feature
    return {name: SEARCH - np.argmax(c, axis=1) for name, c in curves.items()}


def main(argv=None):
    import numpy as np
    import pandas as pd
    import wfdb

    args = parse_args(argv)
    folder = Path(args.input_dir)
    names = args.records or list_records(folder)
    if not names:
        raise FileNotFoundError(f"{folder}: no WFDB records (.hea files) found")
    rows = []
    for name in names:
        rec = wfdb.rdrecord(str(folder / name))
        ann = wfdb.rdann(str(folder / name), "atr")
        beats = np.asarray(ann.sample)[ecg.label_mask(ann.symbol, "beats")]
        offsets = feature_offsets(np.nan_to_num(rec.p_signal), rec.fs, beats)
        row = {"record": name, "fs": rec.fs, "beats": len(beats)}
        for feat, off in offsets.items():
            q1, med, q3 = np.percentile(off, [25, 50, 75])
            row[f"{feat}_median"] = med
            row[f"{feat}_iqr"] = q3 - q1
        rows.append(row)
    table = pd.DataFrame(rows)
    if args.detections:
        found = [pd.read_csv(p, dtype={"record": str}) for p in Path(args.detections).rglob("records.csv")]
        if not found:
            raise FileNotFoundError(f"{args.detections}: no records.csv below it")
        det = pd.concat(found).drop_duplicates("record").set_index("record")["median_offset_ms"]
        table["detection_offset_samples"] = table["record"].map(det) * table["fs"] / 1000.0
    print(to_markdown(table))
    summary = {f: (float(table[f"{f}_median"].median()), float(table[f"{f}_median"].std()),
                   float(table[f"{f}_iqr"].median())) for f in FEATURES if f"{f}_median" in table}
    print("\n| feature | median over records of the per-record median offset | spread (sd) across records | "
          "median within-record IQR |\n|---|---:|---:|---:|")
    for f, (m, sd, iqr) in summary.items():
        print(f"| {f} | {m:+.1f} | {sd:.2f} | {iqr:.1f} |")
    if "detection_offset_samples" in table:
        for f in FEATURES:
            ok = table[["detection_offset_samples", f"{f}_median"]].dropna()
            if len(ok) > 2:
                r = np.corrcoef(ok.iloc[:, 0], ok.iloc[:, 1])[0, 1]
                print(f"correlation of the detection offset with {f}: r = {r:+.2f} over {len(ok)} records")
    if args.out:
        save_text(args.out, table.to_csv(index=False))
    return table


if __name__ == "__main__":   # python -m tsad.cli.fiducial_offsets
    run_cli(main)
