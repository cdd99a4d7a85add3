"""The classical beat classifiers, the baseline of "which beats are abnormal": RR-interval and
morphology features of each beat, relative to the patient's own rhythm and beats, and a linear
discriminant (as de Chazal et al., IEEE TBME 51(7), 2004) or gradient boosting (scikit-learn), scored
by record-wise cross-validation as EC57 scores classes (``tsad.scoring.classes``).

The protocol is inter-patient: a fold's test records are never training records. Beats are
classified at the reference beat positions (the classification half of the task; the detector's
misses and extra beats are not in these figures), on lead 0 resampled to 128 Hz.

Features of a beat (``beat_features``), all from the record itself, so nothing is learnt about the
test patient:

- rhythm: the previous and next RR intervals, the mean RR of the 10 beats around it and of the whole
  record, and the ratios of the previous and next RR to the local and record means (an early beat
  is early against the patient's own rhythm: what tells a supraventricular ectopic beat apart);
- morphology: the amplitude of the beat at 20 fixed offsets from -100 to +460 ms, its baseline (the
  median of -250..-150 ms) removed and scaled by the record's median R amplitude, and the same 20
  samples minus the record's median beat (how this beat differs from the patient's usual one).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from tsad.core.geometry import tolerance_samples
from tsad.data.beat_context import RHYTHM_CONTEXTS, WAVE_CONTEXTS, WAVE_GROUPS, beat_context
from tsad.data.ecg import (
    BALANCED_CLASSES,
    BEAT_SYMBOLS,
    beat_class,
    outside_episodes,
    read_record,
    vf_episodes,
)
from tsad.data.folds import record_folds
from tsad.data.noise import add_noise
from tsad.data.record_context import TEACHER_VIEW, record_context
from tsad.detection.records import detect_signal
from tsad.detection.second_opinion import confirmed, local_snr_db
from tsad.detection.thresholds import balanced_f1
from tsad.models.beat_classifier import CLASSES, ClassifierConfig, class_probs, reads_record
from tsad.models.beat_sequence import SequenceConfig, sequence_probs
from tsad.models.decision import choose_offsets, decide
from tsad.models.verifier import NOT_A_BEAT, VERIFIER_CLASSES, VerifierRule, beat_labels, droppable
from tsad.scoring.beats import match_beats
from tsad.scoring.classes import is_paced, score_classes
from tsad.training.beat_classifier import teacher_soft_targets, train_classifier, train_sequence_classifier

FS = 128.0
OFFSETS_S = np.round(np.concatenate([np.arange(-0.100, 0.101, 0.025), np.arange(0.140, 0.461, 0.032)]), 3)
BASELINE_S = (-0.250, -0.150)
LOCAL_BEATS = 10
CLASSIFIERS = ("lda", "boosting", "learned", "verifier", "sequence")
LEARNED = "learned"     # tsad.models.beat_classifier on both leads and the patient's own context
# tsad.models.beat_sequence: the learned classifier's encoder and a GRU over the record's beats before each
# (docs/RESULTS.md, section AA); trained with the learned classifier's settings (epochs, weight power, shift)
SEQUENCE = "sequence"
TEACHER = "learned_ensemble"   # a distilled classifier's teacher, scored beside it on the same test records
# the learned classifier with one more class, NOT_A_BEAT, trained on the beats its fold's detector finds
# in the fold's training records (those no reference beat matches are NOT_A_BEAT); the detections it
# calls NOT_A_BEAT are dropped (docs/RESULTS.md, section N)
VERIFIER = "verifier"      # NOT_A_BEAT, VERIFIER_CLASSES and the drop rule: tsad.models.verifier
# the probabilities of NOT_A_BEAT above which a verifier may be set to drop a detection (1: none dropped)
DROP_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0)
VERIFIER_DROPS = ("argmax", "tuned")   # drop what is most likely not a beat, or above a validated threshold
DECISIONS = ("argmax", "tuned")   # how the learned classifier's class is chosen (tsad.models.decision)
TEACHER_VIEWS = ("stream", "record")   # what a distilled classifier's teacher reads (fit_learned)
VERIFIER_SETTINGS = ("verifier_drop", "noise_snr", "test_snr", "verifier_keep", "verifier_keep_classified",
                     "second_opinion", "sure_above", "trust_window_s", "ask_above_db",
                     "spare_kept")   # the verifier's alone, of ``learned``


@dataclass
class RecordBeats:
    """One record's beats: positions (at FS), reference classes, the classical features (lead 0),
    the learned classifier's inputs (both leads: ``tsad.data.beat_context``), and whether it is paced."""

    name: str
    database: str
    samples: np.ndarray
    symbols: np.ndarray
    features: np.ndarray
    paced: bool
    waves: np.ndarray | None = None
    rhythm: np.ndarray | None = None
    # a detector's beats of the record (at FS) with their features and inputs: classified and scored
    # against the reference instead of the reference beats themselves (missed and extra beats count)
    detected: RecordBeats | None = None
    signal: np.ndarray | None = None          # (T, 2) at FS, kept where a detector must read the record
    # the reference's ventricular flutter or fibrillation episodes (at FS): EC57 scores nothing there
    vf: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    # what a teacher reads beyond ``waves`` and ``rhythm``: the record around each beat
    # (tsad.data.record_context; None where the record was read without it)
    record_waves: np.ndarray | None = None
    record_rhythm: np.ndarray | None = None
    # of a detector's beats (``detected``): its probability at each (None: not known), which a second
    # opinion reads (tsad.detection.second_opinion)
    scores: np.ndarray | None = None

    @property
    def classes(self) -> np.ndarray:
        return np.array([s if s == NOT_A_BEAT else beat_class(s) for s in self.symbols], dtype=object)


def rr_features(samples: np.ndarray, fs: float = FS) -> np.ndarray:
    """(n, 7) rhythm features of beats at ``samples`` (sorted): previous and next RR (s), the local
    (LOCAL_BEATS around) and record mean RR, and previous / local, next / local, previous / next."""
    rr = np.diff(samples) / fs
    if len(rr) == 0:
        return np.zeros((len(samples), 7))
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    kernel = np.ones(LOCAL_BEATS) / LOCAL_BEATS
    padded = np.pad(pre, (LOCAL_BEATS // 2, LOCAL_BEATS - 1 - LOCAL_BEATS // 2), mode="edge")
    local = np.convolve(padded, kernel, mode="valid")
    mean = np.full(len(samples), rr.mean())
    return np.stack([pre, post, local, mean, pre / local, post / local, pre / post], axis=1)


def morphology_features(signal: np.ndarray, samples: np.ndarray, fs: float = FS) -> np.ndarray:
    """(n, 40) morphology features of beats at ``samples`` on one lead (module docstring)."""
    offsets = np.round(OFFSETS_S * fs).astype(int)
    base = np.arange(round(BASELINE_S[0] * fs), round(BASELINE_S[1] * fs))
    idx = np.clip(samples[:, None] + offsets[None, :], 0, len(signal) - 1)
    bidx = np.clip(samples[:, None] + base[None, :], 0, len(signal) - 1)
    beats = signal[idx] - np.median(signal[bidx], axis=1, keepdims=True)
    r_index = int(np.argmin(np.abs(OFFSETS_S)))
    scale = np.median(np.abs(beats[:, r_index])) if len(beats) else 1.0
    beats = beats / max(scale, 1e-3)
    usual = np.median(beats, axis=0, keepdims=True)
    return np.concatenate([beats, beats - usual], axis=1)


def beat_features(signal: np.ndarray, samples: np.ndarray, fs: float = FS) -> np.ndarray:
    """(n, 47): ``rr_features`` and ``morphology_features`` of the beats at ``samples``."""
    return np.concatenate([rr_features(samples, fs), morphology_features(signal, samples, fs)], axis=1)


def read_beats(path, database: str, detections: np.ndarray | None = None, keep_signal: bool = False,
               record_view: bool = False, scores: np.ndarray | None = None) -> RecordBeats:
    """A record's reference beats (BEAT_SYMBOLS) with their features (lead 0) and the learned
    classifier's inputs (leads 0 and 1), at FS; with ``detections`` (a detector's beats, sample
    numbers at the record's own rate), those beats' features and inputs too (``RecordBeats.detected``);
    with ``keep_signal``, the record's two leads at FS (``RecordBeats.signal``); with ``record_view``,
    what a teacher reads of the record around each beat too (``tsad.data.record_context``); ``scores``:
    the detector's probability at each of ``detections`` (kept as ``detected.scores``; of two detections
    that fall on one sample at FS, the higher)."""
    record = read_record(path, channels=(0, 1), fs=FS)
    keep = np.array([s in BEAT_SYMBOLS for s in record.ann_symbols], bool)
    samples = np.asarray(record.ann_samples, np.int64)[keep]
    symbols = np.asarray(record.ann_symbols, dtype=object)[keep]
    order = np.argsort(samples, kind="stable")
    samples, symbols = samples[order], symbols[order]
    waves, rhythm, _ = beat_context(record.signal, samples, groups=len(WAVE_GROUPS))
    detected = None
    if detections is not None:
        at_fs = np.clip(np.round(np.asarray(detections) * FS / record.source_fs).astype(np.int64), 0,
                        len(record.signal) - 1)
        found = np.unique(at_fs)
        found_scores = None
        if scores is not None:
            if len(scores) != len(at_fs):
                raise ValueError(f"{path}: {len(at_fs)} detections but {len(scores)} scores")
            found_scores = np.zeros(len(found))
            np.maximum.at(found_scores, np.searchsorted(found, at_fs), np.asarray(scores, float))
        d_waves, d_rhythm, _ = beat_context(record.signal, found, groups=len(WAVE_GROUPS))
        detected = RecordBeats(record.name, database, found, np.full(len(found), "", dtype=object),
                               beat_features(record.signal[:, 0], found), False, d_waves, d_rhythm,
                               **_record_view(record.signal, found, record_view), scores=found_scores)
    return RecordBeats(record.name, database, samples, symbols, beat_features(record.signal[:, 0], samples),
                       is_paced(symbols), waves, rhythm, detected, record.signal if keep_signal else None,
                       vf_episodes(record.ann_samples, record.ann_symbols, end=len(record.signal)),
                       **_record_view(record.signal, samples, record_view))


def _record_view(signal: np.ndarray, samples: np.ndarray, wanted: bool) -> dict:
    """``RecordBeats``' record_waves and record_rhythm of the beats at ``samples``, when ``wanted``."""
    if not wanted:
        return {}
    waves, rhythm = record_context(signal, samples)
    return {"record_waves": waves, "record_rhythm": rhythm}


def beat_inputs(record: RecordBeats, teacher: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(waves, rhythm)`` of ``record``'s beats: beat_context's, then, for a ``teacher`` with the record's
    view, ``tsad.data.record_context``'s after them (the record read with ``record_view``)."""
    if not teacher:
        return record.waves, record.rhythm
    if record.record_waves is None:
        raise ValueError(f"record {record.name}: read without the record's view (read_beats(record_view=True))")
    return (np.concatenate([record.waves, record.record_waves], axis=1),
            np.concatenate([record.rhythm, record.record_rhythm], axis=1))


def noisy_copy(record: RecordBeats, snr_db: float, seed: int = 0) -> RecordBeats:
    """``record`` (read with ``keep_signal``) with nstdb-style noise at ``snr_db`` added to its signal
    (``tsad.data.noise.add_noise``: from minute 5 on, every other 2 minutes), named
    ``<name>@<snr>dB``; the same reference beats."""
    if record.signal is None:
        raise ValueError(f"record {record.name}: read without its signal (read_beats(keep_signal=True))")
    noisy = add_noise(record.signal, record.samples, FS, snr_db, seed=seed).astype(np.float32)
    return RecordBeats(f"{record.name}@{snr_db:g}dB", record.database, record.samples, record.symbols, record.features,
                       record.paced, record.waves, record.rhythm, None, noisy, record.vf)


def detector_finder(detector, with_scores: bool = False):
    """``record -> beat positions at FS`` of a ``tsad.models.loader`` Predictor run over a record read
    with ``keep_signal``: what ``fit_verifier`` trains on; ``with_scores``: ``(positions, the detector's
    probability at each)``."""
    def find(record: RecordBeats):
        if record.signal is None:
            raise ValueError(f"record {record.name}: read without its signal (read_beats(keep_signal=True))")
        found = detect_signal(detector, record.signal, FS, name=record.name)
        samples = np.asarray(found.samples, np.int64)
        return (samples, np.asarray(found.scores, float)) if with_scores else samples

    return find


def labelled_detections(record: RecordBeats, found: np.ndarray, scores: np.ndarray | None = None) -> RecordBeats:
    """Beats a detector found in ``record`` (``found``: sorted positions at FS; the record read with
    ``keep_signal``) with the learned classifier's inputs, each labelled with the symbol of the
    reference beat it matches within 150 ms, or NOT_A_BEAT: what a verifier learns from."""
    found = np.asarray(found, np.int64)
    match = match_beats(record.samples, found, tolerance_samples(FS))
    symbols = np.full(len(found), NOT_A_BEAT, dtype=object)
    symbols[match.det_index] = record.symbols[match.ref_index]
    waves, rhythm, _ = beat_context(record.signal, found, groups=len(WAVE_GROUPS))
    return RecordBeats(record.name, record.database, found, symbols, np.zeros((len(found), 0)), record.paced,
                       waves, rhythm, scores=None if scores is None else np.asarray(scores, float))


def make_classifier(name: str, seed: int):
    """An untrained classifier of CLASSIFIERS: features standardised, classes balanced."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "lda":   # equal priors: rare classes are not outvoted by the normal beats
        return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(priors=None, solver="lsqr", shrinkage="auto"))
    if name == "boosting":
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, class_weight="balanced",
                                              random_state=seed)
    raise ValueError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")


def learned_arrays(records: list[RecordBeats], classes=CLASSES,
                   teacher: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(waves, rhythm, targets)`` of every beat of ``records``: the learned classifier's inputs (a
    ``teacher``'s with the record's view: ``beat_inputs``) and each beat's place in ``classes``."""
    inputs = [beat_inputs(r, teacher) for r in records]
    waves = np.concatenate([w for w, _ in inputs])
    rhythm = np.concatenate([h for _, h in inputs])
    targets = np.array([classes.index(c) for r in records for c in r.classes], np.int64)
    return waves, rhythm, targets


def fit_learned(train: list[RecordBeats], seed: int, members: int = 0, lam: float = 0.5, temperature: float = 2.0,
                weighted_kd: bool = False, rhythm_context: str = "recent", wave_context: str = "recent",
                widths: tuple | None = None, hidden: int | None = None, teacher_view: str = "stream", **kwargs):
    """``tsad.models.beat_classifier`` trained on every beat of ``train`` (paced records too: their
    beats are Q, which a deployed classifier must know), and its teacher: ``None``, or with
    ``members`` > 0 the ensemble of that many classifiers trained the same way on the same beats with
    other seeds (seed + 1, seed + 2, ...), from which the returned one is distilled (``lam``,
    ``temperature``, ``weighted_kd``: ``train_classifier``'s): many models taught to one.
    ``rhythm_context`` and ``wave_context`` name the rhythm features and the waveform groups they read
    (``RHYTHM_CONTEXTS``, ``WAVE_CONTEXTS``); ``widths`` and
    ``hidden``, when given, their size (``ClassifierConfig``'s; default its own). ``teacher_view`` is
    what the members read: the student's inputs (``"stream"``), or every input of ``beat_context`` and
    the record around each beat (``"record"``: ``tsad.data.record_context.TEACHER_VIEW``, privileged:
    the record read with ``record_view``)."""
    if teacher_view not in TEACHER_VIEWS:
        raise ValueError(f"unknown teacher view {teacher_view!r}; choose one of {', '.join(TEACHER_VIEWS)}")
    waves, rhythm, targets = learned_arrays(train)
    size = {key: value for key, value in (("widths", widths), ("hidden", hidden)) if value is not None}
    kwargs["config"] = student_config = ClassifierConfig(leads=waves.shape[1] // len(WAVE_GROUPS),
                                        rhythm_features=RHYTHM_CONTEXTS[rhythm_context],
                                        wave_groups=WAVE_CONTEXTS[wave_context],
                                        **{key: tuple(value) if key == "widths" else value for key, value in size.items()})
    if not members:
        model, _ = train_classifier(waves, rhythm, targets, seed=seed, **kwargs)
        return model, None
    sees = waves, rhythm
    if teacher_view == "record":
        t_waves, t_rhythm, _ = learned_arrays(train, teacher=True)
        sees = t_waves, t_rhythm
        kwargs = {**kwargs, "config": replace(kwargs["config"], **TEACHER_VIEW)}
    ensemble = [train_classifier(*sees, targets, seed=seed + k, **kwargs)[0] for k in range(1, members + 1)]
    soft = teacher_soft_targets(ensemble, *sees, temperature)
    kwargs["config"] = student_config
    model, _ = train_classifier(waves, rhythm, targets, seed=seed, soft_targets=soft, lam=lam,
                                temperature=temperature, weighted_kd=weighted_kd, **kwargs)
    return model, ensemble


def fit_sequence(train: list[RecordBeats], seed: int, rhythm_context: str = "recent", wave_context: str = "recent",
                 epochs: int = 6, weight_power: float = 0.5, shift: int = 0):
    """``tsad.models.beat_sequence`` trained on every record of ``train`` (paced ones too, as
    ``fit_learned``), each record's beats in order, with the learned classifier's recipe (``epochs``,
    ``weight_power``, ``shift``) and inputs (``rhythm_context``, ``wave_context``)."""
    sequences = [(r.waves, r.rhythm, np.array([CLASSES.index(c) for c in r.classes], np.int64))
                 for r in train if len(r.samples)]
    config = SequenceConfig(leads=sequences[0][0].shape[1] // len(WAVE_GROUPS),
                            rhythm_features=RHYTHM_CONTEXTS[rhythm_context], wave_groups=WAVE_CONTEXTS[wave_context])
    model, _ = train_sequence_classifier(sequences, config=config, epochs=epochs, weight_power=weight_power,
                                         shift=shift, seed=seed)
    return model


def predict_sequence(model, record: RecordBeats) -> np.ndarray:
    """Each beat's class by a sequence classifier reading the record's beats in order (the most likely)."""
    probs, _ = sequence_probs(model, record.waves, record.rhythm)
    return decide(probs, model.config.classes)


def fit_verifier(train: list[RecordBeats], find, seed: int, rhythm_context: str = "recent",
                 wave_context: str = "recent", **kwargs):
    """The learned classifier over VERIFIER_CLASSES, trained on the beats ``find(record)`` finds in
    the ``train`` records (``labelled_detections``; ``detector_finder`` makes ``find`` of a detector);
    ``kwargs`` are ``train_classifier``'s. Returns it and how many of its training beats were NOT_A_BEAT."""
    found = [labelled_detections(r, find(r)) for r in train]
    waves, rhythm, targets = learned_arrays(found, VERIFIER_CLASSES)
    config = ClassifierConfig(leads=waves.shape[1] // len(WAVE_GROUPS), classes=VERIFIER_CLASSES,
                              rhythm_features=RHYTHM_CONTEXTS[rhythm_context],
                              wave_groups=WAVE_CONTEXTS[wave_context])
    model, _ = train_classifier(waves, rhythm, targets, config=config, seed=seed, **kwargs)
    return model, int((targets == VERIFIER_CLASSES.index(NOT_A_BEAT)).sum())


def drop_threshold(model, records: list[RecordBeats], find, keep_classes: tuple = ()) -> float:
    """The probability of NOT_A_BEAT above which ``model`` (a verifier) drops a detection, chosen on
    ``records`` (validation records it was not trained on; their beats found by ``find``) by the
    class-balanced F1 of what it keeps (``tsad.detection.thresholds.balanced_f1``, as a detector's
    threshold is chosen), over DROP_GRID; of equally good thresholds, the highest (it drops least).
    Detections it would give a class of ``keep_classes`` are never dropped (``droppable``)."""
    groups = list(BALANCED_CLASSES.values())
    counts = np.zeros((len(DROP_GRID), 3))
    class_counts = np.zeros((len(DROP_GRID), len(groups), 2))
    grid = np.asarray(DROP_GRID)
    for record in records:
        found = labelled_detections(record, find(record))
        probs = class_probs(model, found.waves, found.rhythm)
        p_not = probs[:, VERIFIER_CLASSES.index(NOT_A_BEAT)]
        kept = (p_not[None, :] <= grid[:, None]) | ~droppable(beat_labels(probs), keep_classes)[None, :]
        real = found.symbols != NOT_A_BEAT
        tp = (kept & real).sum(axis=1)
        counts += np.stack([tp, (kept & ~real).sum(axis=1), len(record.samples) - tp], axis=1)
        for g, symbols in enumerate(groups):
            in_class = np.isin(found.symbols, list(symbols))
            class_counts[:, g, 0] += np.isin(record.symbols, list(symbols)).sum()
            class_counts[:, g, 1] += (kept & in_class).sum(axis=1)
    score = balanced_f1(counts, class_counts)
    return float(grid[np.flatnonzero(score >= score.max() - 1e-12)[-1]])


def verified(model, record: RecordBeats, drop_above: float | None = None, keep_classes: tuple = (),
             classified: np.ndarray | None = None, probs: np.ndarray | None = None) -> tuple[RecordBeats, np.ndarray]:
    """``record``'s beats less those ``model`` (a verifier) drops by the rule ``VerifierRule(drop_above,
    keep_classes)`` (``tsad.models.verifier``; with ``classified``, a beat classifier's classes of the
    same beats, also keeping what it gives one of ``keep_classes``), and the others' classes (the
    verifier's most likely of the classes other than NOT_A_BEAT). ``probs``: the verifier's
    probabilities of these beats, already computed (each beat's depend on its own inputs alone)."""
    probs = mean_probs(model, record) if probs is None else probs
    labels = beat_labels(probs)
    rule = VerifierRule(drop_above, tuple(keep_classes), classified is not None)
    keep = rule.keep(probs, labels, classified)
    kept = RecordBeats(record.name, record.database, record.samples[keep], record.symbols[keep],
                       record.features[keep], record.paced, record.waves[keep], record.rhythm[keep])
    return kept, labels[keep]


def mean_probs(model, record: RecordBeats) -> np.ndarray:
    """(beats, classes) probabilities of one learned classifier, or the mean of a list of them."""
    models = model if isinstance(model, list) else [model]
    return np.mean([class_probs(m, *beat_inputs(record, reads_record(m.config))) for m in models], axis=0)


@dataclass
class Decided:
    """A learned classifier whose class is chosen with log-odds offsets (``tsad.models.decision``)."""

    model: object
    offsets: dict


def predict_learned(model, record: RecordBeats) -> np.ndarray:
    """Each beat's class by one learned classifier, or by a list of them (the mean of their
    probabilities), or by a ``Decided`` one (its offsets added before the most likely class is taken)."""
    offsets = None
    if isinstance(model, Decided):
        model, offsets = model.model, model.offsets
    first = model[0] if isinstance(model, list) else model
    return decide(mean_probs(model, record), first.config.classes, offsets)


def tune_decision(train: list[RecordBeats], seed: int, **settings) -> tuple[dict, float]:
    """The decision offsets (``tsad.models.decision.choose_offsets``) for a classifier trained on
    ``train`` with ``settings`` (``fit_learned``'s): chosen on a record-wise quarter of ``train`` (its
    non-paced records, at the reference beats) by a classifier trained the same way on the other three
    quarters, as the verifier's drop threshold is. Returns them and their score there."""
    names = [r.name for r in train]
    inner = set(record_folds(names, min(4, len(names)), seed, groups={r.name: r.database for r in train})[0])
    model, _ = fit_learned([r for r in train if r.name not in inner], seed, **settings)
    held = [r for r in train if r.name in inner and not r.paced]
    probs = np.concatenate([mean_probs(model, r) for r in held])
    truth = np.concatenate([r.classes for r in held])
    return choose_offsets(probs, truth, model.config.classes)


def fit_classifier(name: str, train: list[RecordBeats], seed: int, learned: dict | None = None):
    """A classifier trained on the non-paced beats of ``train`` records (AAMI classes as targets);
    the learned one on every beat, with the settings ``learned`` (``train_classifier``'s keywords)."""
    if name == LEARNED:
        return fit_learned(train, seed, **(learned or {}))[0]
    rows = [r for r in train if not r.paced]
    x = np.concatenate([r.features for r in rows])
    y = np.array([beat_class(s) for r in rows for s in r.symbols], dtype=object)
    model = make_classifier(name, seed)
    if name == "lda":   # LDA's own priors would follow the class frequencies: make them equal
        present = sorted(set(y))
        model.set_params(lineardiscriminantanalysis__priors=np.full(len(present), 1 / len(present)))
    return model.fit(x, y)


def score_record_classes(record: RecordBeats, labels, detected: RecordBeats | None = None) -> dict:
    """EC57 class figures of one record classified at its reference positions (no missed or extra
    beat: the detection is the reference's), or at its detector's beats (``record.detected``, or
    ``detected`` where given: matched to the reference within 150 ms, a missed beat counting against
    its class, an extra one against the class it was given; as EC57, nothing inside the reference's
    ventricular flutter or fibrillation episodes, ``record.vf``, is scored)."""
    detected = detected if detected is not None else record.detected
    if detected is not None:
        ref, det = outside_episodes(record.samples, record.vf), outside_episodes(detected.samples, record.vf)
        row = score_classes(record.samples[ref], record.symbols[ref], detected.samples[det],
                            np.asarray(labels, dtype=object)[det], tolerance_samples(FS))
        return {"record": record.name, "database": record.database, "beats": len(record.samples), **row}
    row = score_classes(record.samples, record.symbols, record.samples, np.asarray(labels, dtype=object), 0)
    return {"record": record.name, "database": record.database, "beats": len(record.samples), **row}


def train_verifier(train: list[RecordBeats], find, seed: int, drop: str = "argmax", noise_snr: tuple = (),
                   keep_classes: tuple = (), **settings):
    """A verifier of the detector behind ``find`` and its rule (``tsad.models.verifier``): trained on
    the beats ``find`` finds in ``train`` (records read with ``keep_signal``) and, for each SNR of
    ``noise_snr``, in noisy copies of them (``noisy_copy``, seed + the record's place); its drop
    threshold none (``drop`` "argmax") or (``drop`` "tuned") chosen on a record-wise quarter of
    ``train`` by a verifier trained on the other three quarters (``drop_threshold``). With noisy
    copies, that validated verifier is the one returned (trained on three times the beats, a second
    fit on all of ``train`` cost more than it was worth); without, one trained on all of ``train``.
    ``settings`` are ``fit_verifier``'s. Returns ``(model, VerifierRule, NOT_A_BEAT training beats)``:
    the same recipe for a fold (``cross_validate``) and for a shipped model (verifier_train.py)."""
    if drop not in VERIFIER_DROPS:
        raise ValueError(f"unknown verifier drop {drop!r}; choose one of {', '.join(VERIFIER_DROPS)}")
    keep_classes, noise_snr = tuple(keep_classes), tuple(noise_snr)

    def with_noise(records: list[RecordBeats]) -> list[RecordBeats]:
        return records + [noisy_copy(r, snr, seed=seed + i) for i, r in enumerate(records) for snr in noise_snr]

    drop_above = None
    model = None
    if drop == "tuned":          # on a quarter of the training records
        names = [r.name for r in train]
        inner = set(record_folds(names, min(4, len(names)), seed, groups={r.name: r.database for r in train})[0])
        first, not_beats = fit_verifier(with_noise([r for r in train if r.name not in inner]), find, seed, **settings)
        drop_above = drop_threshold(first, with_noise([r for r in train if r.name in inner]), find, keep_classes)
        if noise_snr:
            model = first
    if model is None:
        model, not_beats = fit_verifier(with_noise(train), find, seed, **settings)
    return model, VerifierRule(drop_above, keep_classes), not_beats


def _subset(record: RecordBeats, keep: np.ndarray) -> RecordBeats:
    """``record``'s beats where ``keep`` (a detector's beats with their inputs and scores)."""
    return RecordBeats(record.name, record.database, record.samples[keep], record.symbols[keep],
                       record.features[keep], record.paced, record.waves[keep], record.rhythm[keep],
                       scores=None if record.scores is None else record.scores[keep])


def _verify_fold(k: int, train: list[RecordBeats], test: list[RecordBeats], find, seed: int, learned: dict,
                 scored_find=None, second=None) -> list:
    """The rows of one fold's verifier (``cross_validate``): trained by ``train_verifier`` on ``train``
    (``learned``: its noise_snr, verifier_drop, verifier_keep and classifier settings), scored on the
    test records' detections and, for each SNR of ``learned["test_snr"]``, on what ``find`` finds in
    noisy copies of the test records; beside each, the same verifier dropping nothing
    (``unverified``), so that what dropping does is paired on the same beats.

    With ``second`` (``record -> beat positions at FS`` of another detector, on the same signal) and
    ``learned["sure_above"]`` (probabilities), each row comes again for every probability p, named
    ``<row>+<learned["second_opinion"]><p>``: the beats below p that ``second`` does not confirm within
    150 ms dropped first (``tsad.detection.second_opinion.confirmed``); ``scored_find`` (``find``
    with the scores, ``detector_finder(with_scores=True)``) detects the noisy copies then. With
    ``learned["ask_above_db"]`` the second opinion is asked only where lead 0 reads at least that clean
    (``local_snr_db``, the beats at or above p as its QRS complexes); with ``learned["spare_kept"]`` never
    of a beat whose verifier class is one of the verifier's kept classes (section AG)."""
    settings = {key: value for key, value in learned.items() if key in ("rhythm_context", "wave_context", "epochs",
                                                                        "weight_power", "shift")}
    test_snr = tuple(learned.get("test_snr") or ())
    # with verifier_keep_classified, what the fold's beat classifier (trained on the same records'
    # reference beats, as the shipped one is) gives a kept class is kept too; the drop threshold is
    # validated without it (the quarter would need a classifier of its own)
    classifier = fit_learned(train, seed, **settings)[0] if learned.get("verifier_keep_classified") else None
    model, rule, not_beats = train_verifier(train, find, seed, drop=learned.get("verifier_drop", "argmax"),
                                            noise_snr=tuple(learned.get("noise_snr") or ()),
                                            keep_classes=tuple(learned.get("verifier_keep") or ()), **settings)
    drop_above, keep_classes = rule.drop_above, rule.keep_classes
    opinions = [("", None)]
    if second is not None:
        opinions += [(f"+{learned.get('second_opinion', 'second')}{p:g}", p) for p in learned["sure_above"]]
    rows = []
    for condition in (None, *test_snr):
        suffix = "" if condition is None else f"@{condition:g}dB"
        for record in test:
            if condition is None:
                if record.detected is None:
                    raise ValueError(f"record {record.name}: the verifier scores a detector's beats (--detections-cv)")
                every, signal = record.detected, record.signal
            else:
                noisy = noisy_copy(record, condition, seed=10_000 + seed)
                every = labelled_detections(noisy, *(scored_find(noisy) if second is not None else (find(noisy),)))
                signal = noisy.signal
            others = second(signal, record.name) if second is not None else None
            every_probs = mean_probs(model, every) if len(every.samples) else None   # once: each beat's own
            for opinion, sure_above in opinions:
                shown, probs = every, every_probs
                if sure_above is not None:
                    if every.scores is None:
                        raise ValueError(f"record {record.name}: a second opinion needs the detector's scores")
                    askable = np.ones(len(every.samples), bool)
                    if learned.get("ask_above_db") is not None:
                        askable &= local_snr_db(signal[:, 0], every.samples, every.scores >= sure_above,
                                                FS) >= learned["ask_above_db"]
                    if learned.get("spare_kept") and every_probs is not None:
                        askable &= droppable(beat_labels(every_probs), keep_classes)
                    keep = confirmed(every.samples, every.scores, others, FS, sure_above,
                                     trust_window_s=learned.get("trust_window_s"), askable=askable)
                    shown, probs = _subset(every, keep), None if every_probs is None else every_probs[keep]
                classified = (predict_learned(classifier, shown) if classifier is not None and len(shown.samples)
                              else None)
                for label, threshold in ((VERIFIER, drop_above), ("unverified", 1.0)):
                    kept, labels = verified(model, shown, threshold, keep_classes, classified, probs) \
                        if len(shown.samples) else (shown, [])
                    rows.append({"fold": k, "classifier": label + opinion + suffix, "trained_not_beats": not_beats,
                                 "drop_above": np.nan if threshold is None else threshold,
                                 **score_record_classes(record, labels, kept)})
    return rows


def _cached(find):
    """``find`` that finds each record's beats once."""
    found = {}

    def cached(record: RecordBeats) -> np.ndarray:
        if record.name not in found:
            found[record.name] = find(record)
        return found[record.name]

    return cached


def cross_validate(records: list[RecordBeats], folds: list[list[str]], classifier: str, seed: int,
                   learned: dict | None = None, fold_finders: list | None = None,
                   scored_finders: list | None = None, second=None) -> pd.DataFrame:
    """Every record classified by the classifier trained on the other folds' records; one row each
    (and, for a distilled learned classifier, one more per record for its teacher, ``TEACHER``). The
    verifier (VERIFIER) needs what finds each fold's training beats (``fold_finders[k]``: record ->
    positions, ``detector_finder`` of the fold's detector), the records read with their signals and
    their test beats found by the fold's detector (``RecordBeats.detected``); its rows say how many
    NOT_A_BEAT beats it trained on (``trained_not_beats``); ``scored_finders`` and ``second``: its
    rows with a second opinion too (``_verify_fold``)."""
    by_name = {r.name: r for r in records}
    rows = []
    for k, test in enumerate(folds):
        train = [r for r in records if r.name not in set(test)]
        if classifier == VERIFIER:
            if fold_finders is None:
                raise ValueError("the verifier needs the detectors of the folds (a detection cross-validation)")
            rows += _verify_fold(k, train, [by_name[name] for name in test], _cached(fold_finders[k]), seed,
                                 learned or {}, scored_finders[k] if scored_finders else None, second)
            continue
        extra = {}
        if classifier == LEARNED:
            settings = {key: value for key, value in (learned or {}).items()
                        if key not in (*VERIFIER_SETTINGS, "decision")}
            student, ensemble = fit_learned(train, seed, **settings)
            if (learned or {}).get("decision", "argmax") == "tuned":
                offsets, score = tune_decision(train, seed, **settings)
                student = Decided(student, offsets)
                extra = {**{f"offset_{c}": v for c, v in offsets.items()}, "validation_ectopic_f1": score}
            models = {LEARNED: student, **({TEACHER: ensemble} if ensemble else {})}
        elif classifier == SEQUENCE:
            models = {SEQUENCE: fit_sequence(train, seed, **{key: value for key, value in (learned or {}).items()
                                                              if key in ("rhythm_context", "wave_context", "epochs",
                                                                         "weight_power", "shift")})}
        else:
            models = {classifier: fit_classifier(classifier, train, seed, learned)}
        for name in test:
            record = by_name[name]
            shown = record.detected if record.detected is not None else record     # the beats classified
            for label, model in models.items():
                if not len(shown.samples):
                    labels = []
                elif classifier == LEARNED:
                    labels = predict_learned(model, shown)
                elif classifier == SEQUENCE:
                    labels = predict_sequence(model, shown)
                else:
                    labels = model.predict(shown.features)
                rows.append({"fold": k, "classifier": label, **(extra if label == LEARNED else {}),
                             **score_record_classes(record, labels)})
    return pd.DataFrame(rows)


RULE_FIGURES = ("gross VEB Se", "gross VEB +P", "gross SVEB Se", "gross SVEB +P")


def eight_figure_rule(paired: dict[str, pd.DataFrame]) -> tuple[list[str], bool]:
    """The keep-or-not rule of a classifier change (docs/RESULTS.md, sections O, U and W) over its
    paired tables against the baseline (``beat_classes_cv.py --against``: ``paired_against_*.csv``),
    one per seed (``paired``: seed -> table; the first two seeds are read): over the eight gross VEB
    and SVEB Se and +P of both databases, (1) the mean difference over the seeds is >= 0 for at least
    six, (2) no mean falls by more than 0.02, (3) a VEB figure's interval lies above 0 with every seed.
    Returns the table and verdict as text lines, and whether the change is kept."""
    seeds = list(paired)
    t = pd.concat([table[table["figure"].isin(RULE_FIGURES)].assign(seed=seed) for seed, table in paired.items()])
    wide = t.pivot_table(index=["database", "figure"], columns="seed",
                         values=["difference", "ci_low", "ci_high"]).sort_index()
    mean = wide["difference"].mean(axis=1)
    lines = [f"figure | {' | '.join(f'seed {s}' for s in seeds)} | mean", "---|" * (len(seeds) + 1) + "---"]
    for (db, fig), m in mean.items():
        cells = [f"{wide.loc[(db, fig), ('difference', s)]:+.3f} [{wide.loc[(db, fig), ('ci_low', s)]:+.3f}, "
                 f"{wide.loc[(db, fig), ('ci_high', s)]:+.3f}]" for s in seeds]
        lines.append(f"{db} {fig} | {' | '.join(cells)} | {m:+.3f}")
    at_least = int((mean >= 0).sum())
    worst = float(mean.min())
    veb = [(db, fig) for db, fig in mean.index if "VEB" in fig and "SVEB" not in fig]
    above = [k for k in veb if all(wide.loc[k, ("ci_low", s)] > 0 for s in seeds)]
    kept = at_least >= 6 and worst >= -0.02 and bool(above)
    lines += ["", f"(1) means >= 0: {at_least} of 8 (six needed)", f"(2) worst mean: {worst:+.3f} (-0.02 allowed)",
              f"(3) VEB figures with both intervals above 0: {above or 'none'}", f"kept: {kept}", ""]
    return lines, kept
