"""Library code of the Chalice API: everything but the thin ``app.py``."""
