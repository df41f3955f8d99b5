"""Helpers shared by the test packages: builders, fake contexts, stack fixtures. Each package's conftest
re-exports the fixtures it uses from here, so a test imports helpers from one obvious place."""
