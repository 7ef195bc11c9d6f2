"""Reverse-mode automatic differentiation: Function (one op), the engine, grad mode, checks."""
from .anomaly import detect_anomaly, set_detect_anomaly
from .function import Function
from .functional import grad
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck

__all__ = ["Function", "grad", "gradcheck", "detect_anomaly", "set_detect_anomaly", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled"]
