-- Transcription jobs and minutes by language per UTC day, from `transcript.ready` events.
-- Durations as stats-aggregator counts them: whole milliseconds per job (missing: 0), minutes
-- rounded to 3 decimals; a missing or blank language reads 'unknown'; each envelope id once per hour.
-- Written for both Athena (Trino) and DuckDB; table raw_events as in uploads_by_verdict_per_day.sql.
WITH events AS (
  SELECT "type", data, "year", "month", "day",
         row_number() OVER (PARTITION BY "year", "month", "day", "hour", id ORDER BY "time") AS copy
  FROM raw_events
  WHERE version = 1 AND id <> '' AND "type" <> ''
),
jobs AS (
  SELECT "year" || '-' || "month" || '-' || "day" AS event_day,
         COALESCE(NULLIF(TRIM(data."language"), ''), 'unknown') AS transcript_language,
         COALESCE(ROUND(CAST(data.duration_seconds AS DOUBLE) * 1000), 0) AS duration_ms
  FROM events
  WHERE copy = 1 AND "type" = 'transcript.ready'
)
SELECT event_day,
       transcript_language,
       COUNT(*) AS jobs,
       SUM(duration_ms) AS duration_ms,
       ROUND(SUM(duration_ms) / 60000.0, 3) AS minutes
FROM jobs
GROUP BY 1, 2
ORDER BY 1, 2
