"""gradkit.distributed: ``torch.distributed``'s names, for programs that import it at the top.

gradkit runs in one process: there are no process groups, so ``is_available()`` and
``is_initialized()`` are False, and the common guard works unchanged::

    rank = dist.get_rank() if dist.is_initialized() else 0

Everything that needs a process group behaves as in PyTorch before ``init_process_group``: it
raises ValueError ("Default process group has not been initialized ..."), with the fix for
gradkit. ``init_process_group`` itself raises NotImplementedError: not supported in this build.
To train on one machine, run the program as one process (``python train.py``, not ``torchrun``)
and drop the distributed setup; ``gradkit.data.DistributedSampler`` still shards a data set by
explicit ``num_replicas=`` and ``rank=``.
"""
import enum

__all__ = ["is_available", "is_initialized", "is_torchelastic_launched", "is_nccl_available",
           "is_gloo_available", "is_mpi_available", "init_process_group", "destroy_process_group",
           "get_rank", "get_world_size", "get_backend", "new_group", "barrier", "all_reduce",
           "reduce", "broadcast", "all_gather", "all_gather_object", "all_gather_into_tensor",
           "gather", "scatter", "reduce_scatter", "reduce_scatter_tensor", "all_to_all", "send",
           "recv", "broadcast_object_list", "monitored_barrier", "ReduceOp", "Backend"]

FIX = ("gradkit runs in one process and has no process groups (distributed training is not "
       "supported in this build); run the program as one process (python script.py, not "
       "torchrun) and guard distributed calls with `if dist.is_initialized():`")


def no_process_group(where):
    """The ValueError PyTorch raises when ``where`` needs the default process group."""
    return ValueError(f"{where}: Default process group has not been initialized, please make "
                      f"sure to call init_process_group. {FIX}")


def is_available():
    """False: this build of gradkit has no distributed backend."""
    return False


def is_initialized():
    """False: no process group exists in a gradkit program."""
    return False


def is_torchelastic_launched():
    return False


def is_nccl_available():
    return False


def is_gloo_available():
    return False


def is_mpi_available():
    return False


def init_process_group(*args, **kwargs):
    raise NotImplementedError(f"init_process_group: not supported in this build. {FIX}")


class ReduceOp(enum.Enum):
    """The reduction names of ``all_reduce(tensor, op=ReduceOp.SUM)`` (so the call can name them)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"
    PREMUL_SUM = "premul_sum"


class Backend:
    """The backend names (``Backend.NCCL`` ...), none of which this build has."""

    UNDEFINED, GLOO, NCCL, MPI = "undefined", "gloo", "nccl", "mpi"


def _needs_group(name):
    def call(*args, **kwargs):
        raise no_process_group(name)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Raises ValueError: ``{name}`` needs a process group, which gradkit never has."
    return call


get_rank = _needs_group("get_rank")
get_world_size = _needs_group("get_world_size")
get_backend = _needs_group("get_backend")
new_group = _needs_group("new_group")
destroy_process_group = _needs_group("destroy_process_group")
barrier = _needs_group("barrier")
monitored_barrier = _needs_group("monitored_barrier")
all_reduce = _needs_group("all_reduce")
reduce = _needs_group("reduce")
broadcast = _needs_group("broadcast")
broadcast_object_list = _needs_group("broadcast_object_list")
all_gather = _needs_group("all_gather")
all_gather_object = _needs_group("all_gather_object")
all_gather_into_tensor = _needs_group("all_gather_into_tensor")
gather = _needs_group("gather")
scatter = _needs_group("scatter")
reduce_scatter = _needs_group("reduce_scatter")
reduce_scatter_tensor = _needs_group("reduce_scatter_tensor")
all_to_all = _needs_group("all_to_all")
send = _needs_group("send")
recv = _needs_group("recv")


def __getattr__(name):
    raise AttributeError(f"gradkit.distributed has no {name!r}: distributed training is not "
                         f"supported in this build. It provides {', '.join(__all__)}")
