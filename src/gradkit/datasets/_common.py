"""What every loader shares: the ``split`` check and the Dataset form of the arrays."""
from gradkit.data.dataset import TensorDataset


def check_split(where, split, allowed):
    if split not in allowed:
        raise ValueError(f"{where}: split={split!r} is not one of {', '.join(map(repr, allowed))}")
    return split


def arrays_or_dataset(arrays, as_dataset, transform=None, target_transform=None):
    """``arrays`` as they are, or (``as_dataset=True``) a ``TensorDataset`` over them."""
    if as_dataset:
        return TensorDataset(*arrays, transform=transform, target_transform=target_transform)
    if transform is not None or target_transform is not None:
        raise ValueError("transform/target_transform apply to the Dataset form; pass as_dataset=True")
    return arrays
