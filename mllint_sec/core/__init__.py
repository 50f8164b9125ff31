"""The shared vocabulary of every layer: findings, file kinds, suppression comments. Imports nothing else of mllint_sec."""
