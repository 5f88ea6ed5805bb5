"""Local development only: the real servers `make dev` and the test suite run on.

Kept outside `src/`, so neither the wheel nor the Docker image carries it.
"""
