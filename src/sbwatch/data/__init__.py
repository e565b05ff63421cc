"""Data checks, table activity reports and schema migrations: what the data of a project says."""
