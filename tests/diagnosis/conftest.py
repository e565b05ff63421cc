"""Diagnosis tests need no fixtures: they are tables of plain values."""
