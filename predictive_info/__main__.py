"""``python -m predictive_info`` is the ``predinfo`` command."""
import sys

from predictive_info.cli import main

sys.exit(main())
