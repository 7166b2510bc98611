"""The SIS sync, as stages with typed hand-offs: sources → parse → stage → plan → apply → report."""
