"""Core test fixtures (helpers live in core_fixtures.py so test modules can import them by a unique name)."""

from core_fixtures import run_dir  # noqa: F401  - re-exported as a fixture
