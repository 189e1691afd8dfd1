"""When the demo fires the template's schedules: the first firing after the hour or day ends, as
EventBridge Scheduler sends it."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tools.demo.scenario import next_firing, scheduled_event

UTC = dt.UTC
HOURLY = {"schedule": "cron(5 * * * ? *)", "timezone": "UTC", "arn": "arn:aws:scheduler:::schedule/default/h",
          "input": {"detail": {"rollup": "hourly"}, "time": "<aws.scheduler.scheduled-time>",
                    "resources": ["<aws.scheduler.schedule-arn>"], "id": "<aws.scheduler.execution-id>"}}
DAILY = {**HOURLY, "schedule": "cron(20 1 * * ? *)", "timezone": "Asia/Shanghai"}


def test_the_hourly_schedule_fires_five_minutes_into_the_next_hour():
    assert next_firing(HOURLY, dt.datetime(2026, 11, 30, 18, 0, tzinfo=UTC)) == dt.datetime(2026, 11, 30, 18, 5, tzinfo=UTC)
    assert next_firing(HOURLY, dt.datetime(2026, 11, 30, 18, 6, tzinfo=UTC)) == dt.datetime(2026, 11, 30, 19, 5, tzinfo=UTC)


def test_the_daily_schedule_fires_at_its_local_time_after_the_local_day_ends():
    after = dt.datetime(2026, 12, 1, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    assert next_firing(DAILY, after) == dt.datetime(2026, 11, 30, 17, 20, tzinfo=UTC), "01:20 in Shanghai"
    assert next_firing({**DAILY, "timezone": "UTC"}, dt.datetime(2026, 11, 30, 1, 21, tzinfo=UTC)) == \
        dt.datetime(2026, 12, 1, 1, 20, tzinfo=UTC)


def test_the_scheduled_event_is_the_schedule_s_input_with_its_time_and_arn():
    event = scheduled_event(HOURLY, dt.datetime(2026, 11, 30, 18, 5, tzinfo=UTC))

    assert event["time"] == "2026-11-30T18:05:00Z"
    assert event["resources"] == ["arn:aws:scheduler:::schedule/default/h"]
    assert event["detail"] == {"rollup": "hourly"} and not event["id"].startswith("<")
