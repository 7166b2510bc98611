"""`python -m bench` runs the sync benchmark (bench/run.py)."""

from bench.run import main

if __name__ == "__main__":
    main()
