"""Renderers: each takes the run's results and returns bytes or prints them."""
