"""Provenance records: what a repository says its data and model files are.

A record names a file and, usually, its digest. One module per kind of record:

- `gitattributes.py`: the `.gitattributes` patterns that route files through Git LFS
  (matched by `core.wildmatch`); LFS pointer files themselves are `core.lfs_pointer`;
- `dvc.py`: `.dvc` files, `dvc.lock`, and the outputs `dvc.yaml` stages declare;
- `checksums.py`: checksum manifests and single-file sidecars;
- `model_card.py`: the YAML front matter of Hugging Face model cards (`README.md`).

`record.py` holds what they produce; `yaml_lines.py` reads YAML with the line of every
key. Every reader takes the file's display path (POSIX, relative to the repository root)
and its content. Nothing is read from disk, imported or run, and nothing raises on bad
input: what cannot be read becomes a `Problem` at its line. A path in a record that
leaves the repository (`..` too far, an absolute path, a URL where a file is expected)
is dropped with a Problem. Results are in file order.
"""
