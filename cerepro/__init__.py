"""cerepro: a reference reproduction of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory"."""

from cerepro import numba_cache

__version__ = "0.1.0"

numba_cache.configure()  # before any kernel is compiled (cerepro/numba_cache.py)
