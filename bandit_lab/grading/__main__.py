"""``python -m bandit_lab.grading assign [--check]`` (maintainers) or ``... grade ...``."""

import sys

from .assign import assign_main
from .command import main

if __name__ == "__main__":  # pragma: no cover
    argv = sys.argv[1:]
    if argv and argv[0] == "assign":
        sys.exit(assign_main(argv[1:]))
    if argv and argv[0] == "grade":
        argv = argv[1:]
    sys.exit(main(argv))
