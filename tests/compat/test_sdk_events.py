"""cvat-sdk 2.80 against ``cvatcore serve``: sending client events and exporting the event log
(``POST /api/events/export`` -> ``/api/requests/{rq_id}`` -> ``result_url``)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cvat_sdk import make_client, models
from cvat_sdk.core.downloading import Downloader


def test_sdk_sends_events_and_exports_the_log(live_server, tmp_path: Path) -> None:
    with make_client(live_server.host, port=live_server.port,
                     credentials=live_server.credentials) as client:
        client.config.status_check_period = 0.2
        project = client.projects.create(models.ProjectWriteRequest(name="events-sdk"))
        now = datetime.now(UTC)
        sent, _ = client.api_client.events_api.create(models.ClientEventsRequest(
            events=[models.EventRequest(scope="load:job", timestamp=now - timedelta(seconds=3),
                                        project_id=project.id),
                    models.EventRequest(scope="click:element", timestamp=now,
                                        project_id=project.id)],
            timestamp=now))
        assert [e.scope for e in sent.events] == ["load:job", "click:element"]
        assert all(e.source == "client" for e in sent.events)
        target = tmp_path / "events.csv"
        Downloader(client).prepare_and_download_file_from_endpoint(
            client.api_client.events_api.create_export_endpoint, target,
            query_params={"project_id": project.id})
    with target.open() as f:
        rows = list(csv.DictReader(f))
    scopes = [r["scope"] for r in rows]
    assert {"create:project", "load:job", "click:element", "send:working_time"} <= set(scopes)
    assert {r["project_id"] for r in rows} == {str(project.id)}
    (work,) = [r for r in rows if r["scope"] == "send:working_time"]
    assert 2900 <= int(work["duration"]) <= 3100
