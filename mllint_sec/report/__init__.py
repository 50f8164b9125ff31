"""Output formats (text, JSON, SARIF, GitHub annotations) and rule documentation rendering."""
