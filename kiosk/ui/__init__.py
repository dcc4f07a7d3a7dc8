"""The PySide6 screens. The only package allowed to import Qt."""
