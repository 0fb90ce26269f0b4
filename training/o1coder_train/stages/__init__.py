"""One module per pipeline stage; each exposes `run(cfg, run_dir, round_=None) -> dict` of metrics."""
