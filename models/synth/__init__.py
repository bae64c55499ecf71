"""Training-data synthesis from material that Debian and PyPI packages ship."""
