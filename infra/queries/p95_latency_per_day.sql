-- Upload-to-analysis latency per UTC day: the 95th percentile, with count, minimum and maximum.
-- Latency as stats-aggregator reads it: data.latency_ms, else analyzed_at - uploaded_at, in whole
-- milliseconds; each envelope id once per hour. Athena's approx_percentile is within about 1 %;
-- DuckDB (`make query`) computes it exactly (nearest rank).
-- Written for both Athena (Trino) and DuckDB; table raw_events as in uploads_by_verdict_per_day.sql.
WITH events AS (
  SELECT "type", data, "year", "month", "day",
         row_number() OVER (PARTITION BY "year", "month", "day", "hour", id ORDER BY "time") AS copy
  FROM raw_events
  WHERE version = 1 AND id <> '' AND "type" <> ''
),
latencies AS (
  SELECT "year" || '-' || "month" || '-' || "day" AS event_day,
         ROUND(COALESCE(
           CAST(data.latency_ms AS DOUBLE),
           CAST(date_diff('millisecond', from_iso8601_timestamp(data.uploaded_at),
                          from_iso8601_timestamp(data.analyzed_at)) AS DOUBLE))) AS latency_ms
  FROM events
  WHERE copy = 1 AND "type" = 'media.analyzed'
)
SELECT event_day,
       COUNT(*) AS uploads,
       approx_percentile(latency_ms, 0.95) AS p95_latency_ms,
       MIN(latency_ms) AS min_latency_ms,
       MAX(latency_ms) AS max_latency_ms
FROM latencies
WHERE latency_ms >= 0
GROUP BY 1
ORDER BY 1
