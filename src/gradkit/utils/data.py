"""``gradkit.utils.data`` is ``gradkit.data`` under PyTorch's name (``torch.utils.data.DataLoader``)."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
