"""Benchmark suite of gridscheme: load+compile time and memory, per-application latency,
a networkx + pandapower baseline and throughput on synthetic cities (S/M/L).

Run ``python -m benchmarks.run`` (see ``benchmarks/README.md``).
"""
