-- Transcribed minutes and jobs per language, each transcript.ready event counted once.
SELECT json_extract_scalar(data, '$.language') AS language,
       round(sum(CAST(json_extract_scalar(data, '$.duration_seconds') AS DOUBLE)) / 60, 2) AS minutes,
       count(*) AS jobs
FROM (
  SELECT DISTINCT id, data
  FROM raw_events
  WHERE "type" = 'transcript.ready'
) AS transcripts
GROUP BY 1
ORDER BY 1
