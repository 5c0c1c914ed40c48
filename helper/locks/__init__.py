"""Local run locks and restic repository lock handling."""
