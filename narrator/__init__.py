"""narrator: turn a French summary document into a chaptered podcast episode."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
