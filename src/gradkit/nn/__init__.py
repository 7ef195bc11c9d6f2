"""gradkit.nn: layers, losses and the Module system, named and behaving as in PyTorch."""
from . import functional, init, utils
from .activation import (ELU, GELU, GLU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, PReLU, ReLU,
                         ReLU6, SiLU, Sigmoid, Softmax, Softplus, Tanh)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .dropout import Dropout, Dropout1d, Dropout2d
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, HuberLoss,
                   KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .module import Buffer, Module, Parameter

__all__ = ["Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict",
           "ParameterList", "ParameterDict", "Identity", "Linear",
           "Bilinear", "Flatten", "Unflatten", "Dropout", "Dropout1d", "Dropout2d", "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU",
           "SiLU", "GLU", "Sigmoid", "Tanh", "Softplus", "Softmax", "LogSoftmax", "ReLU6", "Hardtanh",
           "LogSigmoid", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss",
           "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "CosineEmbeddingLoss",
           "functional", "init", "utils"]
from .attention import MultiheadAttention  # noqa: E402
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa: E402
                          TransformerEncoder, TransformerEncoderLayer)
__all__ += ["MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
            "TransformerEncoder", "TransformerDecoder", "Transformer"]
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm,  # noqa: E402
                            InstanceNorm1d, InstanceNorm2d, LayerNorm, RMSNorm)
from .embedding import Embedding  # noqa: E402
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: E402
__all__ += ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "RMSNorm", "GroupNorm",
            "InstanceNorm1d", "InstanceNorm2d", "Embedding", "RNNBase", "RNN", "LSTM", "GRU",
            "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d  # noqa: E402
from .upsampling import Upsample  # noqa: E402
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,  # noqa: E402
                      AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d)
__all__ += ["Conv1d", "Conv2d", "Conv3d", "Upsample", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d",
            "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
            "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]
from . import quantized  # noqa: E402
from .quantized import QuantizedEmbedding, QuantizedLinear  # noqa: E402
__all__ += ["QuantizedLinear", "QuantizedEmbedding", "quantized"]
from . import parallel  # noqa: E402
from .parallel import DataParallel  # noqa: E402
__all__ += ["DataParallel", "parallel"]
from .. import _unsupported  # noqa: E402

# anything else: "gradkit does not support torch.nn.X yet", and what to use instead
__getattr__ = _unsupported.module_getattr(__name__, "torch.nn")
