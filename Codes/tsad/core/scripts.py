"""Every stage script under ``Codes/`` and the package function it runs, in one table.

The scripts keep the user's names and paths; each is a few lines that call
``tsad.cli.script(__name__, __file__)``, which looks its entry up here. The pipeline runs a step by
its entry (never the file), and ``tests/test_house.py`` checks that every script is here and every
entry imports. Strings only: reading the table imports nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# script (relative to Codes/) -> ("module:function", keyword arguments bound to it). The function is
# called as function(argv, **bound), with doc=<the script's docstring> where the script passes it.
SCRIPTS: dict[str, tuple[str, dict]] = {
    "Dataset/data_generate.py": ("tsad.cli.data_generate:main", {}),
    "Dataset/data_split.py": ("tsad.cli.data_split:main", {}),
    "Models/vlm_train_0.5.py": ("tsad.training.vlm_teacher:registered_main", {"script": "Models/vlm_train_0.5.py"}),
    "Models/vlm_train_1.py": ("tsad.training.vlm_teacher:registered_main", {"script": "Models/vlm_train_1.py"}),
    "Models/student_train.py": ("tsad.training.students:train_main", {"distill": False}),
    "Models/kd_train.py": ("tsad.training.students:train_main", {"distill": True}),
    "Models/picture_teacher_train.py": ("tsad.training.teachers:train_main", {"kind": "picture"}),
    "Models/context_teacher_train.py": ("tsad.training.teachers:train_main", {"kind": "context"}),
    "Models/ensemble_teacher.py": ("tsad.cli.ensemble_teacher:main", {}),
    "Models/student_cv.py": ("tsad.cli.student_cv:main", {}),
    "Models/kd_study.py": ("tsad.cli.kd_study:main", {}),
    "Models/train_pretrained.py": ("tsad.cli.train_pretrained:main", {}),
    "Models/plot_losses.py": ("tsad.cli.plot_losses:main", {}),
    "Models/beat_classes_cv.py": ("tsad.cli.beat_classes_cv:main", {}),
    "Models/beat_classifier_train.py": ("tsad.cli.beat_classifier_train:main", {}),
    "Models/verifier_train.py": ("tsad.cli.verifier_train:main", {}),
    "Inference/vlm/vlm_0.5_infer.py": ("tsad.training.vlm_teacher_infer:registered_main",
                                       {"script": "Inference/vlm/vlm_0.5_infer.py"}),
    "Inference/vlm/vlm_1_infer.py": ("tsad.training.vlm_teacher_infer:registered_main",
                                     {"script": "Inference/vlm/vlm_1_infer.py"}),
    "Inference/lstm/student_infer.py": ("tsad.training.students:infer_main", {}),
    "Inference/plot_inference.py": ("tsad.cli.plot_inference:main", {}),
    "Inference/detect.py": ("tsad.cli.detect:main", {}),
    "Inference/evaluate_records.py": ("tsad.cli.evaluate_records:main", {}),
    "Inference/fiducial_offsets.py": ("tsad.cli.fiducial_offsets:main", {}),
    "run_pipeline.py": ("tsad.cli.run_pipeline:main", {}),
}


def entry(script: str) -> tuple[Callable, dict]:
    """The function a script (relative to Codes/) runs and the keyword arguments bound to it."""
    if script not in SCRIPTS:
        raise KeyError(f"{script}: not a stage script (tsad.core.scripts.SCRIPTS)")
    target, bound = SCRIPTS[script]
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function), dict(bound)
