"""attnrec — see why an attention-based recommender scores a user–item pair the way it does."""

from attnrec.attention import AttentionTrace, attend, attention_scores
from attnrec.data import Featurizer, load_dataset
from attnrec.model import Recommender
from attnrec.training import TrainConfig, train

__all__ = [
    "AttentionTrace",
    "attend",
    "attention_scores",
    "Featurizer",
    "load_dataset",
    "Recommender",
    "TrainConfig",
    "train",
]
