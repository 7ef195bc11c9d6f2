"""``python -m gradkit`` is the ``gradkit`` command (see cli.py); ``python -m gradkit demo`` runs
the backpropagation demo."""
import sys

from .cli import main

sys.exit(main())
