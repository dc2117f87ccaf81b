"""Experiments on real data: a character-level RNN on The Time Machine trained
with each gradient strategy, influence balancing (where truncation flips the
gradient's sign), and the chapter's segmentation figure.

Numeric core only (NumPy/SciPy/tqdm).  Stable name used by scripts:
`load_corpus()` returns the shipped text.
"""

from .corpus import CORPUS_SHA1, UNK, Vocab, corpus_sha1, load_corpus, load_text, preprocess, tokenize
from .model import CharData, init_model, one_hot, perplexity, stream_windows, window_problem
from .optim import SGD, Adam, clip_by_global_norm
from .strategies import ALL_KINDS, KINDS, Strategy, artbp_expected_cost, matched_pi, matched_strategies
from .mechanisms import mechanism_evidence
from .stats import Evidence, PairedDifference, Plateau, paired_difference, plateau, t_quantile
from .train import (
    ClaimVerdict,
    EvalRecord,
    ExperimentError,
    ExperimentResult,
    LagRecord,
    StepRecord,
    StrategySummary,
    TrainingConfig,
    TrainingRun,
    VarianceRecord,
    Verdict,
    experiment_strategies,
    run_experiment,
    train,
    train_batch,
    train_reference,
)
from .influence import (
    InfluenceResult,
    InfluenceRun,
    InfluenceTask,
    TruncationSigns,
    influence_balancing,
    train_influence,
    truncation_signs,
)
from .figure import Segmentation, SegmentationFigure, segmentation_figure

__all__ = [
    "CORPUS_SHA1",
    "UNK",
    "Vocab",
    "corpus_sha1",
    "load_corpus",
    "load_text",
    "preprocess",
    "tokenize",
    "CharData",
    "init_model",
    "one_hot",
    "perplexity",
    "stream_windows",
    "window_problem",
    "SGD",
    "Adam",
    "clip_by_global_norm",
    "KINDS",
    "ALL_KINDS",
    "Strategy",
    "Evidence",
    "mechanism_evidence",
    "PairedDifference",
    "Plateau",
    "paired_difference",
    "plateau",
    "t_quantile",
    "ExperimentError",
    "LagRecord",
    "VarianceRecord",
    "experiment_strategies",
    "train_batch",
    "train_reference",
    "artbp_expected_cost",
    "matched_pi",
    "matched_strategies",
    "TrainingConfig",
    "StepRecord",
    "EvalRecord",
    "TrainingRun",
    "StrategySummary",
    "ClaimVerdict",
    "Verdict",
    "ExperimentResult",
    "train",
    "run_experiment",
    "InfluenceTask",
    "TruncationSigns",
    "InfluenceRun",
    "InfluenceResult",
    "truncation_signs",
    "train_influence",
    "influence_balancing",
    "Segmentation",
    "SegmentationFigure",
    "segmentation_figure",
]
