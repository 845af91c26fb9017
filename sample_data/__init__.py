"""Bundled synthetic sample portfolio, installed as the package data of analyzer.sample_data."""
