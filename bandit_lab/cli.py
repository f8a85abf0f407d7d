"""The ``bandit-lab`` command.

    bandit-lab lab [NOTEBOOK]        open JupyterLab on the course (default: notebook 01)
    bandit-lab grade SUBMISSIONS...  grade learners' exercise notebooks (see --help)
    bandit-lab serve [...]           run the decision service (see --help)
    bandit-lab export-log FILE [...] write a bandit's decision log to CSV or Parquet
    bandit-lab version               print the package version

``grade`` and ``serve`` hand their arguments to ``bandit_lab.grading.main`` and
``bandit_lab.service.cli.main``, imported only when used.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

USAGE = __doc__


def _lab(args) -> int:
    jupyter = shutil.which("jupyter")
    if jupyter is None:
        print("bandit-lab: jupyter was not found on PATH; install with `pip install jupyterlab`.",
              file=sys.stderr)
        return 1
    target = args[0] if args else str(Path("notebooks") / "01_explore_exploit.ipynb")
    os.execv(jupyter, [jupyter, "lab", target, *args[1:]])
    return 0  # not reached


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "lab":
        return _lab(rest)
    if cmd == "version":
        from . import __version__

        print(__version__)
        return 0
    if cmd == "grade":
        from .grading import main as grade_main

        return grade_main(rest)
    if cmd == "serve":
        from .service.cli import main as serve_main

        return serve_main(rest)
    if cmd == "export-log":
        from .service.decision_log import main as export_main

        return export_main(rest)
    print(f"bandit-lab: unknown command {cmd!r}.\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
