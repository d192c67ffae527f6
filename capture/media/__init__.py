"""The PyAV wrapper: the only package that imports av."""
