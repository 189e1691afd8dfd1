-- Upload-to-analysis latency per day (UTC): p50 and p95 in milliseconds, each event counted once.
SELECT day,
       approx_percentile(latency_ms, 0.5) AS p50_ms,
       approx_percentile(latency_ms, 0.95) AS p95_ms,
       count(*) AS uploads
FROM (
  SELECT DISTINCT id,
         substr("time", 1, 10) AS day,
         CAST(json_extract_scalar(data, '$.latency_ms') AS DOUBLE) AS latency_ms
  FROM raw_events
  WHERE "type" = 'media.analyzed'
) AS analysed
WHERE latency_ms IS NOT NULL
GROUP BY day
ORDER BY day
