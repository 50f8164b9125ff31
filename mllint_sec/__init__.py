"""mllint-sec: a Security Development Lifecycle linter for machine-learning repositories."""

__version__ = "0.1.0"
