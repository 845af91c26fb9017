"""Bundled taxonomies, installed as the package data of analyzer.taxonomies."""
