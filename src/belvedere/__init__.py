"""Belvedere: self-hostable product & web analytics."""

__version__ = "0.1.0"
