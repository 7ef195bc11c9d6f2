"""gradkit.data: datasets, samplers, the DataLoader, transforms and data checks (PyTorch's
``torch.utils.data`` shape, on NumPy). See docs/data.md for a short guide."""
from . import transforms
from .chat import ChatCollator, ChatDataset, pack_chat
from ._random import check_seed, seeded_generator
from .checks import check_finite, check_labels, check_same_length
from .collate import default_collate
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset
from .sentences import LabelledSentences, SentenceCollator
from .sampler import (BatchSampler, BufferShuffle, BufferShuffleSampler, DistributedSampler,
                      RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler, buffer_shuffle, index_batches)
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
    "BatchSampler", "DistributedSampler", "index_batches",
    # TensorFlow's shuffle buffer (tf.data.Dataset.shuffle runs on these)
    "buffer_shuffle", "BufferShuffle", "BufferShuffleSampler",
    # seeds: every random choice in gradkit.data comes from seeded_generator(seed, ...)
    "check_seed", "seeded_generator",
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
