"""cerepro: a reference reproduction of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory"."""

__version__ = "0.1.0"
