"""Fixtures of the data tests: a throwaway database on 127.0.0.1:5432, settings and a probe."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from sbwatch.config.settings import Settings
from sbwatch.core.clock import Clock, SystemClock
from sbwatch.probes.base import ProbeContext
from sbwatch.probes.data import DataProbe

REF = "datachecksaaaaaaaaaa"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PASSWORD = "data-leakcheck-db-password-5150"
"""Trust auth ignores it; given so the tests can prove it never reaches an output."""


@dataclass(frozen=True)
class Database:
    """A database of its own, on the local server."""

    name: str

    @property
    def dsn(self) -> str:
        """A DSN with a password (ignored by trust auth, never to be printed)."""
        return f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:5432/{self.name}?sslmode=disable"

    async def connect(self) -> Any:
        """A new connection of the test's own (a writer, a setup)."""
        return await asyncpg.connect(self.dsn)

    async def execute(self, statement: str, *args: Any) -> None:
        """Run statements on a connection closed at once, then flush its statistics."""
        conn = await self.connect()
        try:
            await conn.execute(statement, *args)
            await conn.execute("SELECT pg_stat_force_next_flush()")
        finally:
            await conn.close()


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    """A fresh database, dropped after the test."""
    name = f"sbwatch_data_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield Database(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def data_settings(dsn: str, checks: list[dict[str, Any]], **project: Any) -> Settings:
    """Settings with one project whose only probe is the data probe, running ``checks``."""
    return Settings(
        projects=[
            {  # type: ignore[list-item]  # validated dict
                "ref": REF,
                "db_dsn": dsn,
                "probes": {"data": {"timeout": "20s"}},
                "data_checks": checks,
                **project,
            }
        ],
        status_page={"enabled": False},  # type: ignore[arg-type]  # validated dict
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client the data probe does not use (the context needs one)."""
    async with httpx.AsyncClient() as client:
        yield client


def data_probe(
    settings: Settings, http: httpx.AsyncClient, clock: Clock | None = None
) -> DataProbe:
    """The data probe of the first project."""
    return DataProbe(ProbeContext(settings, settings.projects[0], http, clock or SystemClock()))
