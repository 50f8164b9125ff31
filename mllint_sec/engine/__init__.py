"""Running a scan: configuration, discovery, the per-run repository stage, cache, baseline, git diff, process pool."""
