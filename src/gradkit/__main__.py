"""``python -m gradkit``: run the demo (the training commands arrive with the training issues)."""
import sys

from .demo import main

sys.exit(0 if main() else 1)
