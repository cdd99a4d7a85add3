"""Where the false beats mined for hard-negative training lie (RESULTS K): fold 0 of a finished
student_cv.py run, run over every record outside its test fold (training and validation records),
its false beats counted per record.

    python docs/results/hard_negatives/mined_where.py W g-a      # W: the workspace of RESULTS G
"""
import collections
import json
import sys
from pathlib import Path

import pandas as pd

from tsad.core.paths import Workspace
from tsad.experiments import crossval
from tsad.models import loader
from tsad.training.hard_negatives import mine_false_beats

ws, name = Workspace(Path(sys.argv[1])), sys.argv[2]
data = crossval.load_cv_data(ws)
test = set(json.loads((ws.root / f"cv/{name}/fold0/fold.json").read_text())["test_records"].split())
pool = data.subset([r for r in pd.unique(data.records) if r not in test], "train", ws)
table = pd.read_csv(ws.windows_csv, usecols=["id", "record", "start"])
mined = mine_false_beats(loader.load(f"cv/{name}/fold0", ws, classify=False), pool, table, 128.0, 42)
print(mined.false_beats, "false beats;", collections.Counter(mined.records).most_common(12))
