"""`python -m bench.rollbook_main …` runs the `rollbook` command (the benchmark's child)."""

from rollbook.cli import main

if __name__ == "__main__":
    main()
