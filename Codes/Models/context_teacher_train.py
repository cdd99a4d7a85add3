"""Train a context teacher: a wide TCN reading 6 s of the record around each 2-s window (the
neighbouring windows of the same record; at a record's edge the edge sample is repeated and masked).

    python Codes/Models/context_teacher_train.py --workspace W [--context 1] [--width 64] [--depth 7] [--limit-train N] [--resume]
    python Codes/Models/kd_train.py --workspace W --teacher context_teacher --lam 0.5 --temperature 2

Trains on W's train split, early-stopped on its val split (BCE on the beat labels), into
W/context_teacher/ (smolvlm_best.pth, kind "teacher", its config inside; last.pth for --resume).
kd_train.py then distils from it through the teacher-logit cache (tsad.training.distill), as from a VLM
teacher. Defaults (tsad/teachers/context.py) are sized for a 2-core CPU.
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
