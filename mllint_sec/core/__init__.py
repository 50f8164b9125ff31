"""The shared vocabulary of every layer: findings and what they carry, per-file results, severities,
input levels, data uses, file kinds, suppression comments. Imports nothing else of mllint_sec."""
