"""Benchmark datasets and pass@1 evaluation against their own tests."""
