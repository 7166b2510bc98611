"""`python -m bench` runs the sync benchmark (bench/run.py)."""

from bench.run import main

main()
