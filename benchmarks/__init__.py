"""Throughput and latency benchmark of Pinwatch against a bare FastAPI endpoint.

Run it with ``make bench``; ``python -m benchmarks.run --help`` lists the options.
"""
