"""The Skola24/Novaschem text export ("Textfil") source."""

from schoolsync.sources.novaschem.reader import is_novaschem, read_novaschem

__all__ = ["is_novaschem", "read_novaschem"]
