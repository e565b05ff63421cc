"""`sbwatch status` shows the disk from what the store keeps: use, fill rate, the read-only
forecast, the changes of the last day and when the next is allowed; the metrics scrape reads
``/data`` from the provider's real exposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sbwatch.commands.status import gather_status, render
from sbwatch.config.settings import Settings
from sbwatch.core.results import IoSample
from sbwatch.policy.disk import point_of
from sbwatch.probes.metrics import parse_sample
from sbwatch.remediation.disk_journal import note_change
from sbwatch.store.sqlite import SqliteStore
from sbwatch.supabase.disk import GB

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"


def sample(at: datetime, used_gb: float, size_gb: float = 40) -> IoSample:
    """A metrics scrape with /data's gauges."""
    return IoSample(
        at, 0, 0, 0, 0, fs_size_bytes=size_gb * GB, fs_avail_bytes=(size_gb - used_gb) * GB
    )


async def test_status_shows_disk_use_forecast_and_the_quota(store: SqliteStore) -> None:
    """Four changes seen and /data filling 2 GB/h: read-only in ~4h, the next change at 16:00."""
    for minutes in range(0, 61, 5):
        at = NOW - timedelta(minutes=60 - minutes)
        await store.record_io_sample(REF, sample(at, 28 + 2 * minutes / 60))
    for hours in (20, 15, 10, 2):
        await note_change(store, REF, NOW - timedelta(hours=hours), NOW)
    config = Settings.model_validate(
        {
            "projects": [{"ref": REF, "probes": {}}],
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )
    report = await gather_status(store, config, NOW)
    disk = report["projects"][0]["disk"]
    assert (True, 4, "quota") == (disk["quota_spent"], disk["changes_24h"], disk["blocked_by"])
    lines = render(report).splitlines()
    expected = (
        "  disk         75% of 40 GB used, filling 2.00 GB/h; read-only in ~4h; 4 of 4 disk "
        "changes in 24 h (the next allowed at Wed 16:00 UTC)"
    )
    assert expected in lines


def test_the_real_exposition_gives_the_data_filesystem() -> None:
    """The provider's published exposition has /data and /: the /data gauges are the ones read
    (values zeroed by the provider: a size of 0 gives no disk reading, never a division)."""
    text = (REAL / "prom_supabase_grafana_metrics_md_2025-06.prom").read_text()
    data = text.replace(
        'fstype="ext4",mountpoint="/data"} 0', 'fstype="ext4",mountpoint="/data"} 7'
    )
    found, _, _ = parse_sample(data, NOW)
    assert (7.0, 7.0) == (found.fs_size_bytes, found.fs_avail_bytes)
    zeroed, _, _ = parse_sample(text, NOW)
    assert point_of(zeroed) is None
