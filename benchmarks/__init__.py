"""Side-by-side benchmarks of gradkit against PyTorch (issue 7): ``python -m benchmarks.compare``."""
