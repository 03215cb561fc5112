"""Commit the source-count curve while it runs: copy its whole seeds into the book's folder.

The lanes append to ``data/results/partial/sources/`` (a group at a time, so a file may hold
half a seed); chapter 9 and the front page read ``data/results/sources/``. This copies every
file of the curve keeping only the seeds finished in every file
(:func:`harnb.study.sources.whole_seeds`), so a committed copy never mixes a finished seed with
a begun one. Run it from the repository root, then commit ``data/results/sources/``::

    python bench/publish_sources.py                     # every whole seed
    python bench/publish_sources.py --seeds 0 1         # these (each must be whole)
    python bench/publish_sources.py --whole [--src ...]  # print the whole seeds, copy nothing

The same works for any study the lanes append to, e.g. ISPL's part of the orientation study
(chapter 8 says how many seeds are committed). Its files are begun a group at a time, so
``--targets``, ``--strategies`` and ``--ratios`` say what each file must hold for a seed to be
whole (otherwise a file with only its first target, or only a running group, looks whole):
bench/README.md gives the command.

``--whole`` is what ``lane.sh`` asks before a seed of the curve: a whole seed is skipped
without starting a ``harnb run`` per group (84 of them, about 10 s each).
"""

from __future__ import annotations

import argparse

from harnb.study.sources import expected_cells, publish_seeds, whole_seeds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default="data/results/partial/sources/cpu_hart_src-*.csv")
    ap.add_argument("--out", default="data/results/sources")
    ap.add_argument("--seeds", nargs="+", type=int, default=None)
    ap.add_argument("--whole", action="store_true", help="print the whole seeds, copy nothing")
    ap.add_argument("--targets", nargs="+", default=None, help="targets every file must hold")
    ap.add_argument("--strategies", nargs="+", default=None, help="cells every group must hold")
    ap.add_argument("--ratios", nargs="+", type=int, default=None, help="(with --strategies)")
    args = ap.parse_args()
    if (args.strategies is None) != (args.ratios is None):
        ap.error("--strategies and --ratios go together")
    cells = expected_cells(args.strategies, args.ratios) if args.strategies else None
    if args.whole:
        try:
            print(*whole_seeds(args.src, args.targets, cells))
        except FileNotFoundError:
            print()  # nothing run yet
        return
    print(f"whole seeds in {args.src}: {whole_seeds(args.src, args.targets, cells)}")
    for path in publish_seeds(args.src, args.out, args.seeds, args.targets, cells):
        print(path)


if __name__ == "__main__":
    main()
