"""`python -m rollbook.sync.apart WORK`: the process that works out the people of an
organization's first full run while the run writes them (sync/people.py `_Apart`).

Its standard output carries the chunks, each pickled after its length; anything else the
process would print goes to standard error.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    from rollbook.sync.people import prepare_apart

    with out:
        prepare_apart(argv[1], out)


if __name__ == "__main__":
    main(sys.argv)
