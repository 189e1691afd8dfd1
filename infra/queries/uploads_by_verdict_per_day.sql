-- Uploads by moderation verdict per UTC day.
-- Counts `media.analyzed` events as stats-aggregator's rollups do: each envelope id once per hour,
-- lines that are not version-1 envelopes left out; a missing or blank verdict reads 'unknown'.
-- Written for both Athena (Trino) and DuckDB (`make query`); table raw_events: the raw event
-- lines (version, id, type, time, data struct) with partition columns year, month, day, hour (strings).
-- In Athena, add e.g. AND year = '2026' AND month = '11' to the first WHERE to read fewer partitions.
WITH events AS (
  SELECT "type", data, "year", "month", "day",
         row_number() OVER (PARTITION BY "year", "month", "day", "hour", id ORDER BY "time") AS copy
  FROM raw_events
  WHERE version = 1 AND id <> '' AND "type" <> ''
)
SELECT "year" || '-' || "month" || '-' || "day" AS event_day,
       COALESCE(NULLIF(TRIM(data.verdict), ''), 'unknown') AS verdict,
       COUNT(*) AS uploads
FROM events
WHERE copy = 1 AND "type" = 'media.analyzed'
GROUP BY 1, 2
ORDER BY 1, 2
