"""__main__.py: the command line, `python3 -m analysis report PATH [-o OUTDIR] [--metric M]
[--top K] [--tol W]`. Exit status 0 on success (runs that failed are listed in the report and
on stderr, one line each with the reason), 2 for a usage error or a path that is missing or
not ncsn's. Prints the report's index.html path on stdout when done."""

import argparse
import sys

from .modes import TOL
from .results import RANKING, AnalysisError


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python3 -m analysis",
        description="Reports on ncsn results: leaderboards and figures from a sweep "
                    "directory (DIR/sweep.h5) or a single run file.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    r = sub.add_parser(
        "report", help="write leaderboards, figures and index.html",
        description="Writes leaderboard.md, leaderboard.csv, leaderboard_groups.csv, PNG "
                    "figures and index.html for a sweep directory, its sweep.h5, a directory "
                    "of run files, or one run file. Works on a sweep that is still running: "
                    "unfinished runs are listed, with NaN metrics.")
    r.add_argument("path", metavar="PATH", help="sweep directory, sweep.h5, or run file (.h5)")
    r.add_argument("-o", "--outdir", metavar="OUTDIR",
                   help="output folder (default: PATH/report/ for a directory, "
                        "NAME_report/ beside a run file)")
    r.add_argument("--metric", metavar="NAME", choices=RANKING,
                   help="ranking metric, lower is better: %s (default: mode_weight_error "
                        "when the data has modes, else mmd2)" % ", ".join(RANKING))
    r.add_argument("--top", metavar="K", type=int, default=5,
                   help="best runs listed in leaderboard.md and drawn (default 5)")
    r.add_argument("--tol", metavar="W", type=float, default=TOL,
                   help="a run recovers the mixture's weights when its mode_weight_error "
                        "(largest |estimated - true| weight) is at most W and its samples "
                        "are on the data (default %g)" % TOL)
    args = p.parse_args(argv)

    from .report import failure_summary, make_report
    from .results import load
    try:
        index = make_report(args.path, args.outdir, args.metric, args.top, args.tol)
    except AnalysisError as e:
        print("analysis: error: %s" % e, file=sys.stderr)
        return 2
    failed = failure_summary(load(args.path))
    if failed:  # the report is made all the same, and lists them
        print("analysis: " + failed, file=sys.stderr)
    print(index)
    return 0


def cli():
    """The ncsn-analysis command of an installed package (pyproject.toml)."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
