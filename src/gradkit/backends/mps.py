"""``gk.backends.mps``: Apple's GPU backend is not part of gradkit."""


def is_available():
    return False


def is_built():
    return False
