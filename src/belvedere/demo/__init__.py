"""Deterministic generator of realistic analytics history for two demo products (propmanager, aichat).

``generate()`` streams ``DemoEvent`` objects day by day in timestamp order; each carries one event in the
capture format. Used by ``belvedere demo`` (through the real ingest pipeline) and by the benchmarks.
"""

from belvedere.demo.generator import PRODUCTS, DemoEvent, generate

__all__ = ["PRODUCTS", "DemoEvent", "generate"]
