"""Where attempts run: the local pool (harness.pool) or, with `--engine ray`, shards of attempts
as Ray tasks (ray_engine.py on the driver, shard.py on the workers)."""
