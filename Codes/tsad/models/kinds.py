"""The names of the model kinds: the ``kind`` a checkpoint records, in one vocabulary.

The table that says what each kind is (its role, checkpoint file, loader and logits) is
``tsad.models.loader.KINDS``. The names sit in this module of their own because the model modules
that the loader imports (students, teachers) stamp them into their checkpoints: importing the
loader from there would close a circle.
"""

STUDENT = "student"             # a student of tsad.models.student.ARCHITECTURES (the raw series)
VLM_TEACHER = "smolvlm_tsad"    # the VLM teacher, tsad.models.vlm.teacher
TEACHER_HERE = "teacher"        # a teacher trained here; its model_config["type"] names its TeacherKind
CLASSICAL = "classical"         # a detector of tsad.models.classical.CLASSICAL_DETECTORS (no checkpoint)

ROLES = ("teacher", "student", "classical")
