"""``python -m stirpile`` is the ``stirpile`` command."""

import sys

from .cli import main

sys.exit(main())
