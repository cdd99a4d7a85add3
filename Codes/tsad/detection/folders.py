"""Detection folders: ``<record>.<ext>`` (a WFDB annotation file, ``wfdb.wrann``; readable by
``wfdb.rdann`` and PhysioNet's ``bxb``; each beat's symbol is its AAMI class letter, N S V F or Q, when
the model classifies beats, else N), ``<record>_beats.csv`` (sample, time in seconds, probability; the
class and its probabilities ``p_N`` ... ``p_Q`` when the model classifies), ``<record>_probs.npy`` (learned models: the combined probability at the model's rate,
float16) and ``detections.json`` (which model, which settings, how fast, what is doubtful)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core.fileio import atomic_path, current_umask, save_json
from tsad.data import ecg
from tsad.data.ecg import read_header
from tsad.detection.plausibility import detection_warnings
from tsad.models.predictor import DetectionError, Predictor, RecordDetection
from tsad.scoring.ec57 import read_detections

DEFAULT_EXT = "tsad"
DETECTIONS_META = "detections.json"
# detect.py writes into <workspace>/detections/<run>/ unless --out says otherwise; the app looks there
DETECTIONS_DIR = "detections"
# A WFDB annotation file with no annotation: only the two-byte end-of-file marker (rdann reads it)
EMPTY_ANNOTATION_FILE = b"\x00\x00"
CSV_ROWS = 100_000     # beats written to the csv at a time
ANNOTATION_BLOCK = 100_000   # annotations encoded at a time


def beats_csv_name(record: str) -> str:
    return f"{record}_beats.csv"


def probs_npy_name(record: str) -> str:
    return f"{record}_probs.npy"


def annotation_bytes(record: str, ext: str, samples, symbols, aux_notes, fs: float) -> bytes:
    """The bytes of a WFDB (MIT format) annotation file, as ``wfdb.wrann(..., fs=fs)`` writes them
    (tested byte for byte), built with numpy: wrann takes about 30 ms per 1,000 annotations, too slow
    for detection at thousands of times real time or for a week-long record.

    ``samples`` sorted; ``symbols`` of wfdb's label table; ``aux_notes`` strings ('' for none)."""
    import wfdb
    from wfdb.io.annotation import ann_label_table

    samples = np.asarray(samples, np.int64)
    if not len(samples):
        return EMPTY_ANNOTATION_FILE
    header = wfdb.Annotation(record, ext, sample=samples[:1], symbol=list(symbols[:1]), fs=fs)
    special = [*header.calc_fs_bytes(), *header.calc_cl_bytes()]
    if special:
        special += [0, 236, 255, 255, 255, 255, 1, 0]      # end of the special annotations
    table = dict(zip(ann_label_table["symbol"], ann_label_table["label_store"]))
    symbols, aux_notes = np.asarray(symbols, dtype=object), np.asarray(aux_notes, dtype=object)
    parts = [bytes(np.asarray(special, np.uint8))]
    # a block of annotations at a time: a week-long record has about a million beats
    for b0 in range(0, len(samples), ANNOTATION_BLOCK):
        b1 = min(len(samples), b0 + ANNOTATION_BLOCK)
        kinds, which = np.unique(symbols[b0:b1], return_inverse=True)
        codes = np.array([table[k] for k in kinds], np.int64)[which.reshape(-1)]
        aux = aux_notes[b0:b1]
        diff = np.diff(samples[b0:b1], prepend=samples[b0 - 1] if b0 else 0)
        odd = np.flatnonzero((diff > 1023) | (aux != ""))
        start = 0
        for k in [*odd.tolist(), len(codes)]:
            words = (codes[start:k] << 10) | diff[start:k]         # the plain ones: one 16-bit word each
            parts.append(words.astype("<u2").tobytes())
            if k == len(codes):
                break
            out, step = bytearray(), int(diff[k])
            while step > 1023:                                      # SKIP: the interval in a 32-bit field
                n = min(step, 0x7FFFFFFF)
                out += bytes([0, 59 << 2, (n >> 16) & 255, (n >> 24) & 255, n & 255, (n >> 8) & 255])
                step -= n
            out += bytes([step & 255, ((step & 768) >> 8) + 4 * int(codes[k])])
            if aux[k]:                                              # AUX: length, then the text, even
                text = aux[k].encode("latin-1")
                out += bytes([len(text), 252]) + text + (b"\0" if len(text) % 2 else b"")
            parts.append(bytes(out))
            start = k + 1
    return b"".join(parts) + b"\0\0"


def write_detection(det: RecordDetection, out_dir, ext: str = DEFAULT_EXT) -> dict[str, Path]:
    """Writes ``<record>.<ext>`` (a WFDB annotation file: each beat's class letter, N for every beat
    of a model without classes, ``~`` at each gap's start and end), ``<record>_beats.csv`` and, when
    there is one, ``<record>_probs.npy``; every file appears complete or not at all."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ann_path = out_dir / f"{det.record}.{ext}"
    # A beat's symbol is its class (N without a classifier); a stretch without signal is a signal-quality mark "~" at its start (aux
    # "gap") and one at its end (aux "signal"), as WFDB annotates noise and lead-off.
    marks = np.array([[start, min(end, det.n_samples - 1)] for start, end in det.gaps], np.int64).reshape(-1)
    beats = np.asarray(det.samples, np.int64)
    at = np.searchsorted(beats, marks, side="right")                # beats before a mark at one sample
    samples = np.insert(beats, at, marks)
    labels = np.full(len(beats), "N", dtype=object) if det.classes is None else np.asarray(det.classes, dtype=object)
    symbols = np.insert(labels, at, ["~"] * len(marks))
    aux = np.insert(np.full(len(beats), "", dtype=object), at, ["gap", "signal"] * len(det.gaps))
    with atomic_path(ann_path) as tmp:
        tmp.write_bytes(annotation_bytes(det.record, ext, samples, symbols, aux, det.fs))
    files = {"annotations": ann_path, "beats": out_dir / beats_csv_name(det.record)}
    with atomic_path(files["beats"]) as tmp, open(tmp, "w", newline="") as fh:
        for first in range(0, max(len(det.samples), 1), CSV_ROWS):   # a week of beats: bounded memory
            part = slice(first, first + CSV_ROWS)
            columns = {"sample": det.samples[part], "time_s": np.round(det.samples[part] / det.fs, 4),
                       "probability": np.round(det.scores[part].astype(np.float64), 4)}
            if det.classes is not None:
                columns["class"] = det.classes[part]
                columns.update({f"p_{c}": np.round(det.class_probs[part, k].astype(np.float64), 4)
                                for k, c in enumerate(det.class_names)})
            pd.DataFrame(columns).to_csv(fh, index=False, header=first == 0)
    if det.prob is not None:
        files["probs"] = out_dir / probs_npy_name(det.record)
        with atomic_path(files["probs"]) as tmp, open(tmp, "wb") as fh:
            np.save(fh, det.prob.astype(np.float16))
    return files


class ProbsWriter:
    """Writes a record's probability to ``<record>_probs.npy`` (float16, ``n`` samples) piece by piece,
    as streamed detection computes it: call the writer with each piece, in order. The file appears
    complete or not at all."""

    def __init__(self, path, n: int):
        self.path, self.n, self.written = Path(path), int(n), 0

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = tempfile.NamedTemporaryFile("wb", dir=self.path.parent, prefix=f".{self.path.name}.",
                                               suffix=".tmp", delete=False)
        np.lib.format.write_array_header_1_0(self._fh, {"descr": "<f2", "fortran_order": False,
                                                        "shape": (self.n,)})
        return self

    def __call__(self, piece: np.ndarray) -> None:
        self._fh.write(np.asarray(piece, "<f2").tobytes())
        self.written += len(piece)

    def __exit__(self, kind, err, tb) -> bool:
        self._fh.close()
        if kind is None and self.written == self.n:
            os.chmod(self._fh.name, 0o666 & ~current_umask())
            os.replace(self._fh.name, self.path)
            return False
        os.unlink(self._fh.name)
        if kind is None:
            raise DetectionError(f"{self.path}: {self.written} probabilities written, {self.n} expected")
        return False


def read_detection_meta(out_dir) -> dict:
    path = Path(out_dir) / DETECTIONS_META
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DetectionError(f"{path}: unreadable ({err})") from err


def write_detection_meta(out_dir, detector: Predictor, settings: dict, per_record: list[dict]) -> Path:
    """``detections.json``: which model made the folder, with which settings, how fast, and what is
    doubtful: ``run_warnings`` (recorded when the run's threshold was tuned), each record's
    ``warnings`` and ``implausible_records`` (the records that have some)."""
    seconds = sum(r["compute_s"] for r in per_record)
    ecg_s = sum(r["duration_s"] for r in per_record)
    record = {"run": detector.name, "kind": detector.kind, "description": detector.description,
              "geometry": detector.geometry.to_dict() if detector.lead_beats is None else None,
              **detector.info, **settings, "run_warnings": list(detector.warnings),
              # None: the records were not checked (a caller that gave no per-record "warnings")
              "implausible_records": [r["record"] for r in per_record if r["warnings"]]
              if all("warnings" in r for r in per_record) else None,
              "records": per_record, "compute_s": round(seconds, 3),
              "ecg_s": round(ecg_s, 1), "real_time_factor": round(ecg_s / seconds, 1) if seconds else None}
    path = Path(out_dir) / DETECTIONS_META
    save_json(path, record)
    return path


def record_warnings(meta: dict) -> dict[str, list[str]]:
    """{record: its warnings, [] when plausible} of the records a detections.json says were checked
    (a folder written before the check, or by cross-validation, lists its records without any)."""
    return {str(r["record"]): [str(w) for w in r["warnings"] or []] for r in meta.get("records") or []
            if isinstance(r, dict) and "warnings" in r}


def check_detections(det_dir, input_dir, records, ext: str = DEFAULT_EXT) -> dict[str, list[str]]:
    """{record: ``detection_warnings``} of detection files already written (``<det_dir>/<record>.<ext>``),
    judged against the records' own signals in ``input_dir`` (every lead, at the record's own rate)."""

    out = {}
    for name in records:
        folder, name = ecg.record_files(Path(input_dir) / str(name))
        header = read_header(folder, name)
        record = ecg.read_record(folder / name, channels=tuple(range(header.n_sig)), fs=header.fs,
                                 require_annotations=False)
        out[name] = detection_warnings(read_detections(det_dir, name, ext), record.fs, record.n_samples,
                                       record.signal, record.fs)
    return out

