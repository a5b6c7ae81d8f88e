"""attnrec — see why an attention-based recommender scores a user–item pair the way it does.

The names below are imported when first used (PEP 562), not with the package: `import attnrec.cli` (or any
torch-free module, such as attnrec.safety) does not import torch, so `attnrec --help` answers at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attnrec.lazy import lazy_names

if TYPE_CHECKING:
    from attnrec.attention import AttentionTrace as AttentionTrace
    from attnrec.attention import attend as attend
    from attnrec.attention import attention_scores as attention_scores
    from attnrec.data import Featurizer as Featurizer
    from attnrec.data import load_dataset as load_dataset
    from attnrec.model import Recommender as Recommender
    from attnrec.training import TrainConfig as TrainConfig
    from attnrec.training import train as train

# name → the module that defines it
_EXPORTS = {
    "AttentionTrace": "attnrec.attention",
    "attend": "attnrec.attention",
    "attention_scores": "attnrec.attention",
    "Featurizer": "attnrec.data",
    "load_dataset": "attnrec.data",
    "Recommender": "attnrec.model",
    "TrainConfig": "attnrec.training",
    "train": "attnrec.training",
}

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


__getattr__, __dir__ = lazy_names("attnrec", _EXPORTS, globals(), __all__)
