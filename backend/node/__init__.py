"""A Streamlet node as one operating-system process (see process.py)."""
