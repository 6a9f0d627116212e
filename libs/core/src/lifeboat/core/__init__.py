"""Code every Lifeboat service shares: the error tree, crypto, naming, logging, configuration parsing."""
