"""The ``bandit-lab`` command.

    bandit-lab lab [NOTEBOOK]   open JupyterLab on the course (default: notebook 01)
    bandit-lab version          print the package version
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def _lab(args) -> int:
    jupyter = shutil.which("jupyter")
    if jupyter is None:
        print("bandit-lab: jupyter was not found on PATH; install with `pip install jupyterlab`.",
              file=sys.stderr)
        return 1
    target = args.notebook or str(Path("notebooks") / "01_explore_exploit.ipynb")
    os.execv(jupyter, [jupyter, "lab", target])
    return 0  # not reached


def main(argv=None) -> int:
    from . import __version__

    parser = argparse.ArgumentParser(prog="bandit-lab", description="Bandit Lab: a course on Thompson sampling.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_lab = sub.add_parser("lab", help="open JupyterLab on the course")
    p_lab.add_argument("notebook", nargs="?", help="notebook to open (default: notebook 01)")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "lab":
        return _lab(args)
    print(__version__)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
