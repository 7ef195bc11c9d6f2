"""gradkit.data: datasets, samplers, the DataLoader, transforms and data checks (PyTorch's
``torch.utils.data`` shape, on NumPy). See docs/data.md for a short guide."""
from . import transforms
from .chat import ChatCollator, ChatDataset, pack_chat
from .checks import check_finite, check_labels, check_same_length
from .collate import default_collate
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset
from .sentences import LabelledSentences, SentenceCollator
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .split import random_split, train_test_split
from .text import CharTokenizer, SequenceWindowDataset
from .transforms import (Compose, Normalize, OneHot, RandomCrop, RandomHorizontalFlip, RandomRotation,
                         Standardize, ToFloat, Transform)

__all__ = [
    # datasets
    "Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "Subset",
    "random_split", "train_test_split",
    # loading
    "DataLoader", "default_collate",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler", "DistributedSampler",
    # transforms
    "transforms", "Transform", "Compose", "ToFloat", "Normalize", "Standardize", "RandomCrop",
    "RandomHorizontalFlip", "RandomRotation", "OneHot",
    # checks
    "check_finite", "check_labels", "check_same_length",
    # text
    "CharTokenizer", "SequenceWindowDataset",
    # conversations (supervised fine-tuning)
    "ChatDataset", "ChatCollator", "pack_chat",
    # labelled sentences (text classification)
    "LabelledSentences", "SentenceCollator",
]
