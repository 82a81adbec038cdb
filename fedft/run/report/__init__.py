"""The compliance report: the audit read from a run folder, and its HTML/Markdown rendering."""
