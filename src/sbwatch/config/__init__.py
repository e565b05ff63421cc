"""The configuration: typed settings and TOML positions for error messages."""
