"""Make an ensemble teacher from students already trained on the same records: the mean of their logits.

    python Codes/Models/ensemble_teacher.py --workspace W --name ens_fold0 \
        --members cv/both-recommended/fold0 cv/both-onelead/fold0
    python Codes/Models/ensemble_teacher.py --workspace W --name cv/ens/fold{fold} --folds 5 \
        --members cv/both-recommended/fold{fold} cv/both-onelead/fold{fold}     # one per fold

Nothing is trained: the members' weights are put side by side in <W>/<name>/smolvlm_best.pth, a
teacher checkpoint (tsad.models.teachers.ensemble) that kd_train.py --teacher, student_cv.py --fold-teacher,
the distillation cache, detect.py and the app read like any teacher trained here. The members must
share one student configuration and window geometry, and for a cross-validation they must be the
same fold's models (trained on that fold's training records only), which {fold} in the names gives.
"""

from __future__ import annotations

from tsad.core.common import make_parser
from tsad.core.errors import run_cli
from tsad.core.paths import Workspace
from tsad.training.teachers import ensemble_from_runs


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--name", required=True, help="the teacher run to write (with {fold}: one per fold)")
    p.add_argument("--members", nargs="+", required=True, metavar="RUN",
                   help="student runs of the workspace or run folders (with {fold}: that fold's)")
    p.add_argument("--folds", type=int, default=None, help="with {fold} in the names: folds 0 .. FOLDS-1")
    return p.parse_args(argv)


def main(argv=None) -> list:
    args = parse_args(argv)
    ws = Workspace.from_arg(args.workspace)
    templated = "{fold}" in args.name
    if templated != (args.folds is not None):
        raise ValueError("--folds goes with {fold} in --name (and --members), and only then")
    written = []
    for fold in range(args.folds) if templated else [None]:
        name = args.name.format(fold=fold) if templated else args.name
        members = [m.format(fold=fold) if templated else m for m in args.members]
        written.append(ensemble_from_runs(ws, name, members))
        print(f"{name}: ensemble of {len(members)} students ({', '.join(members)}) -> {written[-1]}")
    return written


if __name__ == "__main__":   # python -m tsad.cli.ensemble_teacher
    run_cli(main)
