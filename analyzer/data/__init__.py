"""Data files shipped with the package (e.g. US state boundaries for the offline map)."""
