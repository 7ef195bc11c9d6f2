"""``detect_anomaly()``: find the op whose backward made a NaN or inf, and where it was called.

Inside the context every recorded op remembers the file and line of the user code that called
it, and the engine checks every gradient an op's backward returns. Outside it nothing is
recorded or checked, so normal training pays nothing.

>>> with gk.autograd.detect_anomaly():
...     loss = model(x).log().sum()
...     loss.backward()    # RuntimeError: function 'LogBackward' returned nan ... line 12: ...
"""
from .function import Function


class detect_anomaly:
    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = Function.anomaly_enabled
        Function.anomaly_enabled = self.check_nan

    def __exit__(self, *exc):
        Function.anomaly_enabled = self._prev
        return False


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode):
        super().__init__(bool(mode))
