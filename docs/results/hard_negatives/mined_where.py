"""Where the false beats mined for hard-negative training lie (RESULTS K): fold 0 of a finished
student_cv.py run, run over every record outside its test fold (training and validation records);
each false beat is counted per record and by what the annotation has near it (the first that applies):
a non-conducted P wave ``x``, a flutter wave ``!`` or an artefact ``|`` within 150 ms; 150-450 ms
after a ventricular beat (its late QRS or T wave); 150-450 ms after another beat (its T wave);
150-300 ms before the next beat (its P wave); in a pause (more than 1.5 times the median RR since the last beat); else other.

    python docs/results/hard_negatives/mined_where.py W g-a      # W: the workspace of RESULTS G
"""
import collections
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.core.paths import Workspace
from tsad.data.ecg import BEAT_SYMBOLS
from tsad.data.splits import window_table
from tsad.experiments import crossval
from tsad.models import loader
from tsad.training.hard_negatives import mine_false_beats

FS = 128.0
ws, name = Workspace(Path(sys.argv[1])), sys.argv[2]
data = crossval.load_cv_data(ws)
test = set(json.loads((ws.root / f"cv/{name}/fold0/fold.json").read_text())["test_records"].split())
pool = data.subset([r for r in pd.unique(data.records) if r not in test], "train", ws)
table = window_table(ws)       # starts at the windows' rate (the annotations' offsets are at that rate too)
mined = mine_false_beats(loader.load(f"cv/{name}/fold0", ws, classify=False), pool, table, FS)

# every annotation of the mined records, at its sample in its record
notes = table.merge(pd.read_csv(ws.windows_csv, usecols=["id", "database", "annotations"]), on="id")
notes = notes[notes["record"].isin(set(mined.records))].dropna(subset=["annotations"])
marks = {record: ([], []) for record in set(mined.records)}
database = dict(zip(notes["record"], notes["database"]))
for record, start, text in zip(notes["record"], notes["start"], notes["annotations"]):
    for note in text.split():
        offset, symbol = note.split(":")
        marks[record][0].append(int(start) + int(offset))
        marks[record][1].append(symbol)

kinds, per_record, databases = collections.Counter(), collections.Counter(), collections.Counter()
for record, f in zip(mined.records, mined.positions):
    order = np.argsort(marks[record][0])
    at = np.asarray(marks[record][0], np.int64)[order]
    sym = np.asarray(marks[record][1], object)[order]
    beats = at[np.isin(sym, list(BEAT_SYMBOLS))]
    usual = np.median(np.diff(beats)) if len(beats) > 2 else np.inf
    near = sym[np.abs(at - f) <= 0.15 * FS]
    before = beats[beats < f - 0.15 * FS]
    last = before[-1] if len(before) else None
    last_sym = sym[at == last][0] if last is not None else None
    if "x" in near:
        kind = "non-conducted P wave (x)"
    elif "!" in near:
        kind = "flutter wave (!)"
    elif "|" in near:
        kind = "artefact (|)"
    elif last is not None and f - last <= 0.45 * FS:
        kind = "150-450 ms after a V beat" if last_sym in ("V", "E") else "150-450 ms after another beat"
    elif len(after := beats[beats > f + 0.15 * FS]) and after[0] - f <= 0.3 * FS:
        kind = "150-300 ms before the next beat (its P wave)"
    elif last is not None and f - last > 1.5 * usual:
        kind = "in a pause"
    else:
        kind = "other"
    kinds[kind] += 1
    per_record[record] += 1
    databases[str(database[record])] += 1
total = sum(kinds.values())
print(f"{total} false beats of cv/{name}/fold0 on its {len(pool)} training and validation windows")
print("by database:", dict(databases))
print("by what lies near:", {k: f"{v} ({v / total:.0%})" for k, v in kinds.most_common()})
print("by record:", per_record.most_common(12))
