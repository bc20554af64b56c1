"""tabsynth: privacy-preserving tabular data synthesis with fidelity, utility and risk reports."""

from tabsynth.errors import ConfigError, TableError, TabsynthError

__version__ = "0.1.0"
__all__ = ["ConfigError", "TableError", "TabsynthError", "__version__"]
