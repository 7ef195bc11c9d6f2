"""gradkit.onnx: ``torch.onnx``'s entry points, for programs that import it at the top.

Exporting to ONNX is not supported in this build: ``export`` raises NotImplementedError naming
what to do instead. Save the weights with ``gradkit.save(model.state_dict(), "model.safetensors")``
(safetensors: PyTorch reads it with ``safetensors.torch.load_file``, into the same architecture
by the same key names) and export from PyTorch where ONNX is needed.
"""
__all__ = ["export", "dynamo_export", "is_in_onnx_export", "OnnxExporterError"]

INSTEAD = ("save the weights with gradkit.save(model.state_dict(), 'model.safetensors') "
           "(PyTorch loads them with safetensors.torch.load_file into the same architecture) "
           "and export to ONNX from PyTorch")


class OnnxExporterError(RuntimeError):
    """What ``torch.onnx`` raises when an export fails (named so that ``except`` clauses work)."""


def export(*args, **kwargs):
    """Raises NotImplementedError: exporting to ONNX is not supported in this build."""
    raise NotImplementedError(f"gradkit.onnx.export: exporting to ONNX is not supported in this "
                              f"build; {INSTEAD}")


def dynamo_export(*args, **kwargs):
    """Raises NotImplementedError: exporting to ONNX is not supported in this build."""
    raise NotImplementedError(f"gradkit.onnx.dynamo_export: exporting to ONNX is not supported "
                              f"in this build; {INSTEAD}")


def is_in_onnx_export():
    """False: gradkit never traces a model for export."""
    return False


def __getattr__(name):
    raise AttributeError(f"gradkit.onnx has no {name!r}: exporting to ONNX is not supported in "
                         f"this build; {INSTEAD}")
