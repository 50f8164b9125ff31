"""Repository-level files: dependency manifests and lock files, provenance records (DVC, LFS, checksums, model
cards), their rules."""
