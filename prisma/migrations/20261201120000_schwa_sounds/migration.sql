-- Learner analytics keep the unstressed vowels AH0 (/ə/) and ER0 (/ɚ/) apart from AH (/ʌ/) and ER
-- (/ɝ/) (src/analytics/common.ts soundKey). Rollups written before counted them under AH and ER:
-- the contributions of every AH0 and ER0 phoneme of a counted latest MODEL assessment (the rule of
-- src/analytics/rollup.ts addContributions: the utterance's latest MODEL assessment, not flagged
-- READ_WRONG_TEXT) move from the merged row to their own, with the same definitions.
CREATE TEMP TABLE "_schwa_latest" AS
SELECT l.id FROM (
  SELECT DISTINCT ON (a."utteranceId") a.id, a.flags
  FROM "Assessment" a
  JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
  WHERE a.source = 'MODEL'
  ORDER BY a."utteranceId", a."createdAt" DESC, a.id DESC) l
WHERE NOT (l.flags @> ARRAY['READ_WRONG_TEXT']::text[]);

CREATE TEMP TABLE "_schwa_ph" AS
SELECT a."organizationId" AS org, u."learnerId" AS learner,
  p.symbol AS phone, regexp_replace(p.symbol, '[012]$', '') AS merged, upper(w.text) AS word,
  p.accuracy::numeric AS y, p.accuracy < 1.5::float8 AS err,
  EXTRACT(EPOCH FROM u."createdAt") - 1767225600::numeric AS x
FROM "_schwa_latest" l
JOIN "Assessment" a ON a.id = l.id
JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
JOIN "WordAssessment" w ON w."assessmentId" = a.id
JOIN "PhonemeAssessment" p ON p."wordAssessmentId" = w.id
WHERE p.symbol IN ('AH0', 'ER0');

CREATE TEMP TABLE "_schwa_sums" AS
SELECT org, learner, phone, merged, COUNT(*)::int AS n, SUM(y) AS sy, (COUNT(*) FILTER (WHERE err))::int AS errs,
  SUM(x) AS sx, SUM(x * x) AS sxx, SUM(x * y) AS sxy
FROM "_schwa_ph" GROUP BY org, learner, phone, merged;

UPDATE "LearnerSoundRollup" r SET
  count = r.count - d.n, "sumAccuracy" = r."sumAccuracy" - d.sy, errors = r.errors - d.errs,
  "sumX" = r."sumX" - d.sx, "sumXX" = r."sumXX" - d.sxx, "sumXY" = r."sumXY" - d.sxy
FROM "_schwa_sums" d
WHERE r."organizationId" = d.org AND r."learnerId" = d.learner AND r.phone = d.merged;

INSERT INTO "LearnerSoundRollup" AS r ("organizationId", "learnerId", phone, count, "sumAccuracy", errors, "sumX", "sumXX", "sumXY")
SELECT org, learner, phone, n, sy, errs, sx, sxx, sxy FROM "_schwa_sums" ORDER BY org, learner, phone
ON CONFLICT ("organizationId", "learnerId", phone) DO UPDATE SET
  count = r.count + EXCLUDED.count, "sumAccuracy" = r."sumAccuracy" + EXCLUDED."sumAccuracy",
  errors = r.errors + EXCLUDED.errors, "sumX" = r."sumX" + EXCLUDED."sumX",
  "sumXX" = r."sumXX" + EXCLUDED."sumXX", "sumXY" = r."sumXY" + EXCLUDED."sumXY";

CREATE TEMP TABLE "_schwa_words" AS
SELECT org, learner, phone, merged, word, COUNT(*)::int AS errs
FROM "_schwa_ph" WHERE err GROUP BY org, learner, phone, merged, word;

UPDATE "LearnerSoundWordRollup" r SET errors = r.errors - d.errs
FROM (SELECT org, learner, merged, word, SUM(errs)::int AS errs FROM "_schwa_words" GROUP BY org, learner, merged, word) d
WHERE r."organizationId" = d.org AND r."learnerId" = d.learner AND r.phone = d.merged AND r.word = d.word;

INSERT INTO "LearnerSoundWordRollup" AS r ("organizationId", "learnerId", phone, word, errors)
SELECT org, learner, phone, word, errs FROM "_schwa_words" ORDER BY org, learner, phone, word
ON CONFLICT ("organizationId", "learnerId", phone, word) DO UPDATE SET errors = r.errors + EXCLUDED.errors;

DROP TABLE "_schwa_words";
DROP TABLE "_schwa_sums";
DROP TABLE "_schwa_ph";
DROP TABLE "_schwa_latest";
