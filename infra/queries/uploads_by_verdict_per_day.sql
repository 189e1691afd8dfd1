-- Uploads analysed per day (UTC, from the event time) and verdict, each event counted once.
SELECT substr("time", 1, 10) AS day,
       json_extract_scalar(data, '$.verdict') AS verdict,
       count(DISTINCT id) AS uploads
FROM raw_events
WHERE "type" = 'media.analyzed'
GROUP BY 1, 2
ORDER BY 1, 2
