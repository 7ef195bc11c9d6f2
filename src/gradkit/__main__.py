"""``python -m gradkit`` is the ``gradkit`` command (see cli/__init__.py); ``python -m gradkit demo`` runs
the backpropagation demo."""
import sys

from .cli import main

sys.exit(main())
