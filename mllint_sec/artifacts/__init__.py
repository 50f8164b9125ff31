"""Artifact scanning: what a pickle-based model or data file would import and call, read without loading it."""

from mllint_sec.artifacts.scan import (
    ArtifactReport,
    ImportedCallable,
    Limits,
    Unscanned,
    scan_artifact,
)

__all__ = ["ArtifactReport", "ImportedCallable", "Limits", "Unscanned", "scan_artifact"]
