"""One test file a module: tests/unit/test_<module>.py for harness/<package>/<module>.py."""
