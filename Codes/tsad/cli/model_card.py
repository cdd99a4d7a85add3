"""A shipped model's folder (pretrained/<name>/) and its model card.

The folder is a run folder that ``detect.py --run pretrained`` and ``tsad.models.loader.load`` read
like any other: the weights with their configuration and window geometry (best.pth), the tuned
threshold (detection.json), the training metadata (metadata.json), the same model for
onnxruntime (model.onnx, stamped with the checkpoint's SHA-256) and, when there is one, the beat
classifier (classifier.pth and classifier.onnx: Codes/Models/beat_classifier_train.py, which also
rewrites the card's "Beat classes" section; retraining the detector keeps it), and when there is
one the causal detector in causal/ (a run folder of its own with its card, for ``detect.py --latency-s``:
train_pretrained.py --lookahead-s writes it and the card's "Causal detection" section; retraining
the detector keeps it too), and when there is one the beat verifier (verifier.pth and verifier.onnx:
Codes/Models/verifier_train.py, which rewrites the card's "Beat verifier" section; it learnt its
detector's own mistakes, so retraining the detector leaves it out); MODEL_CARD.md tells a
reader what the model is, what it was trained on, how it was measured and under which licence its
training data is. The optimiser state (last.pth) and loss arrays stay in the workspace.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint
from tsad.core.fileio import make_tmp_dir, save_text
from tsad.detection.streaming import latency_needed_s
from tsad.models import loader
from tsad.models.beat_classifier import count_parameters, load_classifier, load_verifier
from tsad.models.export import export_onnx

SHIPPED_FILES = (paths.STUDENT_CHECKPOINT, "detection.json", paths.METADATA)

# The training data's terms (shared/README.md); a model trained on them carries the attribution.
DATA_LICENCES = {
    "svdb": "MIT-BIH Supraventricular Arrhythmia Database (PhysioNet svdb 1.0.0), Open Data Commons "
    "Attribution License v1.0. Greenwald SD, Improved detection and classification of arrhythmias "
    "in noise-corrupted electrocardiograms using contextual information, MIT, 1990.",
    "mitdb": "MIT-BIH Arrhythmia Database (PhysioNet mitdb 1.0.0), Open Data Commons Attribution License "
    "v1.0. Moody GB, Mark RG, The impact of the MIT-BIH Arrhythmia Database, IEEE Eng Med Biol "
    "20(3):45-50, 2001.",
}
PHYSIONET = (
    "Goldberger AL et al., PhysioBank, PhysioToolkit, and PhysioNet, Circulation 101(23):e215-e220, 2000."
)


def write_shipped_model(
    run_dir: Path,
    out: Path,
    *,
    command: str,
    input_order=None,
    train_records: dict[str, list[str]],
    val_records: list[str],
    cv_summaries=(),
    cost: dict | None = None,
    note: str | None = None,
) -> Path:
    """Copies a trained run's shipped files into ``out`` with a MODEL_CARD.md; ``out`` is replaced
    whole (a reader sees the old folder or the new one). Returns ``out``."""
    run_dir, out = Path(run_dir), Path(out)
    for name in SHIPPED_FILES:
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir / name}: missing; the run did not finish")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_tmp_dir(out, prefix=f".{out.name}.tmp-")
    try:
        for name in SHIPPED_FILES:
            shutil.copyfile(run_dir / name, tmp / name)
        # the beat classifier reads beats wherever a detector puts them: the run's, else the one shipped
        for source in (run_dir, out):
            if (source / paths.CLASSIFIER_CHECKPOINT).is_file():
                shutil.copyfile(source / paths.CLASSIFIER_CHECKPOINT, tmp / paths.CLASSIFIER_CHECKPOINT)
                break
        if (out / paths.CAUSAL_DIR).is_dir():   # the causal detector stays beside a retrained detector
            shutil.copytree(out / paths.CAUSAL_DIR, tmp / paths.CAUSAL_DIR)
        export_onnx(tmp)   # inside the new folder: what detect.py and tsad.api run by default (--backend auto)
        save_text(
            tmp / paths.MODEL_CARD,
            model_card(
                tmp,
                name=out.name,
                input_order=input_order,
                command=command,
                train_records=train_records,
                val_records=val_records,
                cv_summaries=cv_summaries,
                cost=cost or {},
                note=note,
            ),
        )
        update_card_causal(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def write_causal_model(run_dir: Path, parent: Path, *, command: str, train_records: dict[str, list[str]],
                       val_records: list[str], cv_summaries=(), cost: dict | None = None, input_order=None,
                       note: str | None = None) -> Path:
    """Ships a trained causal run (``--lookahead-s``) as ``parent``'s causal detector: its files,
    model.onnx and own MODEL_CARD.md in ``parent/causal/`` (replaced whole), and the "Causal
    detection" section of ``parent``'s card. Returns the causal folder."""
    run_dir, parent = Path(run_dir), Path(parent)
    if not (parent / paths.STUDENT_CHECKPOINT).is_file():
        raise FileNotFoundError(f"{parent / paths.STUDENT_CHECKPOINT}: ship the offline detector first (train_pretrained.py "
                                f"without --lookahead-s); its causal detector goes beside it")
    for name in SHIPPED_FILES:
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir / name}: missing; the run did not finish")
    out = parent / paths.CAUSAL_DIR
    tmp = make_tmp_dir(parent, prefix=".causal.tmp-")
    try:
        for name in SHIPPED_FILES:
            shutil.copyfile(run_dir / name, tmp / name)
        if loader.load(tmp, backend="torch", device="cpu").lookahead is None:
            raise ValueError(f"{run_dir}: not a causal detector (train it with --lookahead-s)")
        export_onnx(tmp)
        save_text(tmp / paths.MODEL_CARD, model_card(tmp, name=f"{parent.name}/{paths.CAUSAL_DIR}", command=command,
                                                     train_records=train_records, val_records=val_records,
                                                     cv_summaries=cv_summaries, cost=cost or {},
                                                     input_order=input_order, note=note))
        old = parent / f".{paths.CAUSAL_DIR}.old"
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    update_card_causal(parent)
    return out


CAUSAL_HEADING = "## Causal detection"


def causal_section(folder: Path) -> list[str]:
    """The card's "Causal detection" section for the causal detector in ``folder/causal`` (none: no
    lines): what it reads ahead, the least latency, and its cross-validated figures."""
    causal = Path(folder) / paths.CAUSAL_DIR
    if not (causal / paths.STUDENT_CHECKPOINT).is_file():
        return []
    detector = loader.load(causal, backend="torch", device="cpu")
    fs = detector.geometry.fs
    needed = {rate: latency_needed_s(detector, rate) for rate in (fs, 360.0)}
    arch = (detector.header.get("model_config") or {}).get("arch", "?")
    return [
        CAUSAL_HEADING,
        "",
        "```bash",
        "python Codes/Inference/detect.py --run pretrained --input-dir PATH/records --latency-s 0.5",
        "```",
        "",
        "`--latency-s S` (and `tsad.detect_beats(..., latency_s=S)`) detects with the causal detector in "
        f"`{paths.CAUSAL_DIR}/` (its own card: `{paths.CAUSAL_DIR}/{paths.MODEL_CARD}`): a {arch} student "
        f"({count_parameters(detector.model):,} parameters) made causal, each probability read from the signal up to {detector.lookahead / fs:.3f} s after its sample, "
        f"and each beat decided as soon as the beat rule allows (`pick_beats_causal`: it waits "
        f"{detector.causal_wait_s:g} s for a higher peak, its detection.json's `causal_wait_s`). Every beat is decided from at most S seconds of signal after it, so the first T seconds of a "
        "record give exactly the beats of the whole record before T - S. The least S is "
        + ", ".join(f"{v:.3f} s at {rate:g} Hz" for rate, v in needed.items())
        + " (resampling adds its filter's half-length). Beats are not classified in this mode (the classifier "
        "reads the next beat). What causality costs in F1 against this detector is in its card and in "
        "docs/RESULTS.md, section H. Under noise it costs more: with nstdb-style noise at 0 dB, on patients "
        "they never saw, the fold models of the causal recipe shipped on 2026-12-04 (fcn_80k, 0.35 s of "
        "look-ahead) missed beats (sensitivity 0.84-0.92) where offline detection by the shipped pair "
        "kept F1 0.95-0.96 (docs/RESULTS.md, sections AB and Y).",
        "",
    ]


def update_card_causal(folder: Path) -> None:
    """Rewrites the "Causal detection" section of ``folder``'s MODEL_CARD.md (before "## Limits")."""
    _replace_section(Path(folder) / paths.MODEL_CARD, CAUSAL_HEADING, causal_section(folder))


def _replace_section(card: Path, heading: str, lines: list[str]) -> None:
    """``card`` with its section ``heading`` (up to the next "## ") replaced by ``lines``, placed
    before "## Limits"; a missing card is left alone."""
    if not card.is_file():
        return
    text = card.read_text()
    if heading in text:
        head, rest = text.split(heading, 1)
        tail = rest[rest.index("\n## ") + 1:] if "\n## " in rest else ""
        text = head + tail
    section = "\n".join(lines)
    if section:
        at = text.index("## Limits") if "## Limits" in text else len(text)
        text = text[:at] + section + "\n" + text[at:]
    save_text(card, text)


CLASSES_HEADING = "## Beat classes"


def classifier_section(folder: Path) -> list[str]:
    """The card's "Beat classes" section for the classifier in ``folder`` (none: no lines), from what
    its checkpoint carries: data, recipe, command, cost and its cross-validated figures."""
    path = Path(folder) / paths.CLASSIFIER_CHECKPOINT
    if not path.is_file():
        return []
    state = load_checkpoint(path)
    n_params = count_parameters(load_classifier(path))
    records = state.get("records") or {}
    lines = [
        CLASSES_HEADING,
        "",
        "Every detected beat gets its AAMI class (N, S, V, F, Q): the symbol of the beat in the annotation "
        "file, with the class probabilities in `<record>_beats.csv`. The classifier (classifier.pth, "
        f"{n_params:,} parameters; classifier.onnx for onnxruntime) reads each beat's waveform on both leads "
        "beside the patient's recent beats and its RR intervals against the patient's recent rhythm "
        "(`tsad.data.beat_context`, one beat of look-ahead), so it is as streamable as the detector.",
        "",
        "- trained on: " + "; ".join(f"{db}: {len(names)} records" for db, names in records.items())
        + f" ({', '.join(f'{c} {n:,}' for c, n in (state.get('beats') or {}).items())} beats), at the "
        "reference beat positions",
        f"- recipe: {json.dumps(state.get('recipe') or {})}",
        f"- command: `{state.get('command', '?')}`",
        "- cost: " + ", ".join(f"{k} {v}" for k, v in (state.get("cost") or {}).items()),
        "",
    ]
    cv = state.get("cv") or []
    if cv:
        lines += [
            "Cross-validated (Codes/Models/beat_classes_cv.py, the same recipe: 5 record-wise folds over the "
            "shared records, each database dealt over the folds; beats classified at the reference positions; "
            "paced records left out; gross figures with 95% bootstrap intervals over records; docs/RESULTS.md, "
            "section F):",
            "",
            "| database | figure | value | 95% interval |",
            "| --- | --- | --- | --- |",
        ]
        for row in cv:
            if str(row["figure"]).startswith("gross") and not str(row["figure"]).endswith("FPR"):
                lines.append(f"| {row['database']} | {row['figure']} | {row['value']:.3f} | "
                             f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] |")
        lines.append("")
    lines += [
        "- Not yet measured on patients outside the shared records, and short of what a Holter reader needs: "
        "supraventricular beats in particular are missed in runs and invented in irregular rhythms "
        "(docs/RESULTS.md, section F). Read the classes as a first pass to review, not a diagnosis.",
        "",
    ]
    return lines


def update_card_classes(folder: Path) -> None:
    """Rewrites the "Beat classes" section of ``folder``'s MODEL_CARD.md (before "## Limits") from
    its classifier; a folder without a card is left alone."""
    _replace_section(Path(folder) / paths.MODEL_CARD, CLASSES_HEADING, classifier_section(folder))


VERIFIER_HEADING = "## Beat verifier"


def verifier_section(folder: Path) -> list[str]:
    """The card's "Beat verifier" section for the verifier in ``folder`` (none: no lines), from what
    its checkpoint carries: its rule, data, recipe, command, cost and its cross-validated figures."""
    path = Path(folder) / paths.VERIFIER_CHECKPOINT
    if not path.is_file():
        return []
    state = load_checkpoint(path)
    model, rule = load_verifier(path)
    records = state.get("records") or {}
    recipe = state.get("recipe") or {}
    keep = " or ".join(rule.keep_classes)
    lines = [
        VERIFIER_HEADING,
        "",
        f"Detection drops what the beat verifier (verifier.pth, {count_parameters(model):,} parameters; "
        "verifier.onnx for onnxruntime) calls \"not a beat\": the beat classifier's network with a sixth class, "
        "trained on this detector's own detections, those matching no reference beat within 150 ms being "
        f"\"not a beat\". It drops a detection when that class's probability is above {rule.drop_above}"
        + (f", unless the beat class it would give is {keep}" if keep else "")
        + (f" or the beat classifier calls it {keep}" if keep and rule.keep_classified else "")
        + " (`tsad.models.verifier`). `detect.py --no-verifier` keeps every detection; with `--latency-s` it "
        "does not run (it reads the next beat).",
        "",
        "- trained on: " + "; ".join(f"{db}: {len(names)} records" for db, names in records.items())
        + f", and a noisy copy of each at {', '.join(f'{x:g}' for x in recipe.get('noise_snr') or []) or 'no'} dB "
        f"({state.get('trained_not_beats', '?'):,} detections that were not beats); the drop threshold chosen on "
        "a record-wise quarter held out from training",
        f"- recipe: {json.dumps(recipe)}",
        f"- command: `{state.get('command', '?')}`",
        "- cost: " + ", ".join(f"{k} {v}" for k, v in (state.get("cost") or {}).items()),
        "",
    ]
    cv = [row for row in state.get("cv") or [] if str(row["figure"]) in VERIFIER_CV_FIGURES]
    if cv:
        lines += [
            "Cross-validated (Codes/Models/beat_classes_cv.py --classifiers verifier, the same recipe on the "
            "detector's own 5-fold cross-validation: each fold's verifier trained on the beats its fold's detector "
            "finds in the other folds' records, and scored on its test records clean and with noise added at 6 and "
            "0 dB; paired over records with the same verifier dropping nothing; one row per seed; "
            "docs/RESULTS.md sections P and Q):",
            "",
            "| seed run | condition | database | figure | without | with | difference [95% interval] |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in cv:
            condition = str(row["classifier"]).partition("@")[2] or "clean"
            lines.append(f"| {row.get('cv_run', 0)} | {condition} | {row['database']} | {row['figure']} | "
                         f"{row['reference']:.4f} | {row['other']:.4f} | {row['difference']:+.4f} "
                         f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}] |")
        lines.append("")
    lines += [
        "- The figures on patients outside the shared records (Limits, below) are the detector's alone, measured "
        "before it had a verifier; with it they were not measured (no such records here). By the cross-validation "
        "above it removes a fifth to a quarter of the false beats on clean mitdb records and about half under "
        "noise, and loses about one ventricular beat in 2,000 on clean records (one in 90 to 180 at 0 dB).",
        "",
    ]
    return lines


# the detection figures of a verifier's cross-validation the card shows (beat_classes_cv.py summary.csv)
VERIFIER_CV_FIGURES = ("gross PPV", "gross F1", "gross Se_V")


def update_card_verifier(folder: Path) -> None:
    """Rewrites the "Beat verifier" section of ``folder``'s MODEL_CARD.md (before "## Limits") from
    its verifier; a folder without a card is left alone."""
    _replace_section(Path(folder) / paths.MODEL_CARD, VERIFIER_HEADING, verifier_section(folder))


def _cv_lines(csv: Path) -> list[str]:
    if not csv.is_file():
        raise FileNotFoundError(f"{csv}: cross-validation summary not found (student_cv.py writes it)")
    table = pd.read_csv(csv)
    lines = [
        f"From `{csv.parent.name}` ({int(table['folds'].iloc[0])} record-wise folds, whole records of "
        "patients outside training, 150 ms), mean [95% t-interval] over folds:",
        "",
    ]
    command = csv.parent / "command.txt"
    if command.is_file():
        lines += [f"`{command.read_text().strip()}`", ""]
    keep = table[table["figure"].str.startswith(("gross_", "per-record F1"))]
    lines += ["| figure | mean | 95% interval | per-record spread |", "| --- | --- | --- | --- |"]
    for _, row in keep.iterrows():
        if pd.isna(row["mean_over_folds"]):  # a class the database does not have
            continue
        ci = "" if pd.isna(row["ci_low"]) else f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
        spread = row.get("spread", "")
        lines.append(
            f"| {row['figure']} | {row['mean_over_folds']:.4f} | {ci} | {'' if pd.isna(spread) else spread} |"
        )
    return lines + [""]


# What was measured of a preset's models beyond the cross-validation (docs/RESULTS.md, sections B
# and C): false beats on the 11 s of beatless noise that end the synthetic example (tsad.data.demo_db,
# 10 minutes at 250 Hz, rng seed 7), by the model that preset shipped.
BEATLESS_NOISE = {"recommended": "12 (the tcn it shipped)", "fast": "7 (fcn_20k)"}


# Where the model the preset shipped is weak on patients outside the shared records: whole records of
# 19 svdb and 21 mitdb patients (DS2 without 100/103/105, and two paced records), scored at 150 ms
# (measured by the project on 2026-12-03 for the fast preset's fcn_20k, no training)
UNSEEN_WEAKNESSES = {
    "fast": [
        "- It almost never misses a beat but marks some that are not there: on the 21 unseen mitdb records "
        "9 of 47,128 beats were missed and 309 false beats made (wfdb's XQRS: 27), 190 of them in one record "
        "with long sinus pauses (F1 0.949 there), 39 in one with non-conducted P waves (2:1 AV block) and 31 in "
        "one with frequent ventricular ectopic beats; gross F1 0.9966 on mitdb, 0.9991 on svdb. When the "
        "rhythm says a beat is due, it can take a P wave, a T wave or noise for a QRS.",
        "- Ventricular flutter draws beats: its waves are marked as beats (157-188 on the flutter episodes of "
        "mitdb record 207 in the cross-validation). EC57 does not score detections inside the flutter the "
        "reference marks, and since 2026-12-04 neither does this project (docs/RESULTS.md, section V, has "
        "the figures scored so). Read the beats inside flutter or fibrillation as its waves, not as heartbeats.",
        "- A record's first 0.3 s, where the signal starts: unseen mitdb records were seen to get a false beat there (1 of the 27 shared mitdb records does).",
        "- Under nstdb-style noise it keeps its sensitivity and loses precision: on mitdb, PPV 0.981 at 12 dB "
        "and 0.930 at 6 dB SNR.",
    ],
}


# What UNSEEN_WEAKNESSES and BEATLESS_NOISE were measured without: a model trained with noise-stress
# windows (docs/RESULTS.md, section Y) is a model those figures were not taken of
STRESS_CAVEAT = ("- The figures on patients outside the shared records and on beatless noise below were measured "
                 "(2026-12-03) for the model this preset shipped before it was trained with noise-stress and "
                 "beatless windows, at its then threshold of 0.1 and without a verifier; this model was not "
                 "measured there. Cross-validated on the shared records (docs/RESULTS.md, section Y) it makes "
                 "fewer false and missed beats than that model's recipe, most of all under noise.")


# One lead, measured (docs/RESULTS.md, section Z) for the preset's recipe with noise-stress windows: its
# 5-fold cross-validation read on one lead at 0.2, without the verifier, seeds 42 / 1
ONE_LEAD_STRESSED = {
    "fast": "- One lead (docs/RESULTS.md, section Z: this recipe cross-validated at 0.2 without its verifier, on "
            "patients outside training, seeds 42 / 1): reading lead 0 alone (MLII on 23 of the 27 mitdb records, "
            "V5 on 102, 104 and 114; ECG1 on svdb) gives fold F1 0.9966 on mitdb and 0.9986 on svdb (both leads: "
            "0.9980 and 0.9995). Reading the second lead alone gives gross F1 0.9977 / 0.9973 on svdb but only "
            "0.967 / 0.976 on mitdb, whose second lead is V1 on most records: there it misses beats rather than "
            "inventing them, is level with XQRS (0.964) and GQRS (0.967), and on 5 of the 27 records no detector "
            "measured reaches 0.96; paced record 102 on V2 scores 0.53 / 0.97. Give `--leads` the limb lead of a "
            "one-lead recorder when there is a choice.",
}


def _measured_limits(preset: str | None, recipe: dict | None = None) -> list[str]:
    """The Limits lines on one lead and on beatless noise: measured for the presets in
    BEATLESS_NOISE, said to be unmeasured for any other recipe; a recipe with noise-stress windows
    (``recipe["augment"]["stress"]``) gets STRESS_CAVEAT before them."""
    stressed = ((recipe or {}).get("augment") or {}).get("stress", 0) > 0
    if preset not in BEATLESS_NOISE:
        return [f"- One lead and beatless noise were not measured for this recipe (preset {preset}); "
                "docs/RESULTS.md, sections B and C, has them for the recommended and fast presets."]
    one_lead = ONE_LEAD_STRESSED.get(preset) if stressed else None
    return [
        *([STRESS_CAVEAT] if stressed else []),
        one_lead or
        f"- One lead, as measured for the {preset} preset (lead dropout 0.5; docs/RESULTS.md, sections B "
        "and C): reading lead 0 alone (MLII on 23 of the 27 mitdb records, V5 on 102, 104 and 114; ECG1 "
        "on svdb) keeps its figures, reading the second lead alone (V1 on most mitdb records, V2 on the "
        "paced 102 and 104) does not: paced record 102 is missed almost whole. Give `--leads` the limb "
        "lead of a one-lead recorder when there is a choice.",
        "- Noise without beats that is neither NaN nor flat (electrode noise, asystole with artefact) is not "
        f"a gap: the {preset} preset marks false beats there, {BEATLESS_NOISE[preset]} in the 11 s of "
        "beatless noise that end the synthetic example (tsad.data.demo_db).",
        *UNSEEN_WEAKNESSES.get(preset, []),
    ]


def model_card(
    folder: Path,
    *,
    name: str | None = None,
    input_order=None,
    command: str,
    train_records: dict[str, list[str]],
    val_records: list[str],
    cv_summaries=(),
    cost: dict,
    note: str | None = None,
) -> str:
    """The text of MODEL_CARD.md for the shipped files in ``folder``; ``note`` opens its Measured
    section (what the figures are compared with)."""
    student = loader.load(folder, backend="torch", device="cpu")   # the one loader, as detection
    state = student.header
    config = state.get("model_config") or {}
    meta = json.loads((folder / paths.METADATA).read_text())
    tuned = json.loads((folder / paths.THRESHOLD_FILE).read_text())
    n_params = count_parameters(student.model)
    one_pass = student.full_probs is not None
    geometry = state.get("geometry") or meta.get("geometry") or {}
    recipe = meta.get("recipe") or {}
    databases = sorted(train_records)
    causal = student.lookahead is not None
    fs = float(geometry.get("fs", 128))
    lines = [
        f"# Model card: {name or folder.name}",
        "",
        "A beat detector for one- or two-lead ECG trained here on the shared PhysioNet records. It is **not** "
        "SmolVLM and was not distilled from it: the VLM's weights could not be had where it was trained.",
        "",
        "## Use",
        "",
        "```bash",
        "python Codes/Inference/detect.py --run pretrained --input-dir PATH/records"
        + (" --latency-s 0.5" if causal else ""),
        "```",
        "",
        *([f"The shipped model's causal detector: each probability reads the signal up to "
           f"{student.lookahead / fs:.3f} s after its sample and nothing later, so that `--latency-s` can decide "
           "every beat from a bounded stretch of what follows it (the parent folder's card, section \"Causal "
           "detection\"). Offline detection (`--run pretrained` without `--latency-s`) uses the parent's "
           "detector, not this one.", ""] if causal else []),
        f"Any WFDB record at any sampling rate and length, read a chunk at a time: it is resampled to "
        f"{geometry.get('fs', 128):g} Hz, "
        + ("the model runs over each chunk in one pass (fully convolutional; its receptive field as margin), "
           if one_pass else f"windows of {geometry.get('samples', 256)} samples slide over it every half window, "
           "the tapered probabilities are stitched, ")
        + ("and with `--latency-s` beats are picked by the causal rule (below), "
           if causal else "and beats are the peaks above the threshold at least 200 ms apart, ")
        + "in the record's own sample "
        f"numbers. It reads {len(geometry.get('channels', [0, 1]))} leads; a record with fewer (or "
        "`--leads 0`) gives it zeros for the missing one, which it was trained for (lead dropout "
        f"{(recipe.get('augment') or {}).get('lead_dropout', 0)}"
        + ("). It runs through " if causal else "; one-lead figures below). It runs through ")
        + "onnxruntime (model.onnx beside the weights; the same beats, faster on a CPU) unless `--backend torch` "
        "is given.",
        "",
        "## Model",
        "",
        f"- architecture: {config.get('arch', '?')} student ({n_params:,} parameters), "
        f"configuration in best.pth",
        f"- window geometry: {json.dumps(geometry)}",
        f"- detection threshold: {tuned.get('threshold')} (tuned on {tuned.get('tuned_on', '?')}: "
        f"{', '.join(tuned.get('records', []))}; objective: {tuned.get('objective', 'gross F1')})",
        f"- recipe: {json.dumps(recipe)}",
        f"- preset: {meta.get('preset')}; training windows drawn: {meta.get('train_windows')}",
        (f"- distilled (lambda {meta.get('lam')}, temperature {meta.get('temperature')}) from the teacher "
         f"`{meta.get('teacher')}` (checkpoint sha256 {str(meta.get('teacher_checkpoint_sha256'))[:16]}...)"
         if meta.get("lam") else
         "- trained on the beat labels alone (not distilled; docs/RESULTS.md measured distillation in sections "
         "C (small students: it helped no size), H (causal students: it did not help) and I (one lead: it "
         "helped on lead 0, not measurably against the same student on labels))"),
        "",
        "## Training data",
        "",
    ]
    for db in databases:
        lines.append(f"- {db}: {len(train_records[db])} records ({' '.join(train_records[db])})")
    lines += [
        f"- validation (threshold, early stopping): {' '.join(val_records)}",
        "",
        "## Reproduce",
        "",
        "```bash",
        "python Codes/Dataset/data_generate.py --workspace W --input-dir "
        + " ".join(f"PATH/{db}" for db in (input_order or databases)),
        command,
        "```",
        "",
        "Cost: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in cost.items()) + ".",
        "",
        "## Measured",
        "",
        *([note, ""] if note else []),
    ]
    if cv_summaries:
        for csv in cv_summaries:
            lines += _cv_lines(Path(csv))
    else:
        lines += [
            "No cross-validation summary was given; docs/RESULTS.md holds the figures of this recipe.",
            "",
        ]
    lines += [
        "docs/RESULTS.md has the per-class sensitivities, the baselines (XQRS, GQRS, neurokit2, sleepecg) "
        "on the same records and the leave-one-database-out figures.",
        "",
        *classifier_section(folder),
        "## Limits",
        "",
        "- Trained on adult Holter records of two PhysioNet databases; morphologies they lack (pediatric, "
        "exercise, implanted-device rhythms other than mitdb's paced records) were never seen.",
        "- Two leads are read in the order of the training records' leads (mitdb: MLII first in most records); "
        "with one lead the other input is zero: see the one-lead figures above.",
        *(["- Causal: it sees at most its look-ahead of what follows a beat, and is measured by cross-validation "
           "only (above; docs/RESULTS.md, section H): on patients outside the shared records it was not measured."]
          if causal else _measured_limits(meta.get("preset"), recipe)),
        "- A research model: not a medical device, not validated for clinical use.",
        "",
        "## Licence of the training data",
        "",
    ]
    for db in databases:
        lines.append(f"- {DATA_LICENCES.get(db, db + ': see its source')}")
    lines += [f"- {PHYSIONET}", ""]
    return "\n".join(lines)
