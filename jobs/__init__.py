"""Spark entry points of cc-refinery: thin job classes wiring :mod:`udfs` logic into DataFrames."""
