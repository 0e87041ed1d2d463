-- Learner analytics leave out assessments flagged READ_WRONG_TEXT (src/analytics/common.ts
-- countsAsReading): they scored speech that is not a reading of the reference. Rollups written
-- before this rule counted them, so the contributions of every latest MODEL assessment so flagged
-- are taken back here, with the definitions of src/analytics/rollup.ts addContributions (sign -1).
CREATE TEMP TABLE "_wrong_text_latest" AS
SELECT l.id FROM (
  SELECT DISTINCT ON (a."utteranceId") a.id, a.flags
  FROM "Assessment" a
  JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
  WHERE a.source = 'MODEL'
  ORDER BY a."utteranceId", a."createdAt" DESC, a.id DESC) l
WHERE l.flags @> ARRAY['READ_WRONG_TEXT']::text[];

CREATE TEMP TABLE "_wrong_text_ph" AS
SELECT a."organizationId" AS org, u."learnerId" AS learner,
  regexp_replace(p.symbol, '[012]$', '') AS phone, upper(w.text) AS word,
  p.accuracy::numeric AS y, p.accuracy < 1.5::float8 AS err,
  EXTRACT(EPOCH FROM u."createdAt") - 1767225600::numeric AS x
FROM "_wrong_text_latest" l
JOIN "Assessment" a ON a.id = l.id
JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
JOIN "WordAssessment" w ON w."assessmentId" = a.id
JOIN "PhonemeAssessment" p ON p."wordAssessmentId" = w.id;

UPDATE "LearnerSoundRollup" r SET
  count = r.count - d.n, "sumAccuracy" = r."sumAccuracy" - d.sy, errors = r.errors - d.errs,
  "sumX" = r."sumX" - d.sx, "sumXX" = r."sumXX" - d.sxx, "sumXY" = r."sumXY" - d.sxy
FROM (
  SELECT org, learner, phone, COUNT(*)::int AS n, SUM(y) AS sy, (COUNT(*) FILTER (WHERE err))::int AS errs,
    SUM(x) AS sx, SUM(x * x) AS sxx, SUM(x * y) AS sxy
  FROM "_wrong_text_ph" GROUP BY org, learner, phone) d
WHERE r."organizationId" = d.org AND r."learnerId" = d.learner AND r.phone = d.phone;

UPDATE "LearnerSoundWordRollup" r SET errors = r.errors - d.errs
FROM (
  SELECT org, learner, phone, word, COUNT(*)::int AS errs
  FROM "_wrong_text_ph" WHERE err GROUP BY org, learner, phone, word) d
WHERE r."organizationId" = d.org AND r."learnerId" = d.learner AND r.phone = d.phone AND r.word = d.word;

UPDATE "LearnerScoreRollup" r SET count = r.count - d.n
FROM (
  SELECT a."organizationId" AS org, u."learnerId" AS learner, s.aspect, s.score::int AS score, COUNT(*)::int AS n
  FROM "_wrong_text_latest" l
  JOIN "Assessment" a ON a.id = l.id
  JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
  CROSS JOIN LATERAL (VALUES ('ACCURACY', a.accuracy::float8), ('FLUENCY', a.fluency::float8), ('PROSODY', a.prosody::float8),
    ('COMPLETENESS', a.completeness::float8), ('TOTAL', a.total::float8)) AS s(aspect, score)
  GROUP BY 1, 2, 3, 4) d
WHERE r."organizationId" = d.org AND r."learnerId" = d.learner AND r.aspect = d.aspect AND r.score = d.score;

DROP TABLE "_wrong_text_ph";
DROP TABLE "_wrong_text_latest";
