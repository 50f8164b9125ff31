"""Analysers that combine python/ and flows/: one Python file at a time, then flows across modules."""
