"""Local training and evaluation loops."""
