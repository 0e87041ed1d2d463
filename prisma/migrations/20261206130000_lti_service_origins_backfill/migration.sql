-- Platforms registered before their credentials were bound to origins (20261206110000) keep
-- working through the deploy: each is given, as its serviceOrigins, the origins its stored token
-- endpoint and line item URLs are on besides its issuer's, as an admin had set them. New and changed
-- addresses are checked against the list from now on. The origin is taken as URL.origin forms it
-- (scheme and host in lower case, the default port left out); a URL with credentials in it, or not
-- http(s), adds nothing and is refused when used, as before.
UPDATE "LtiPlatform" p
SET "serviceOrigins" = found.origins
FROM (
  SELECT platform.id, array_agg(DISTINCT o.origin ORDER BY o.origin) AS origins
  FROM "LtiPlatform" platform
  CROSS JOIN LATERAL (
    SELECT platform."tokenEndpoint" AS url
    UNION ALL
    SELECT li.url FROM "LtiLineItem" li WHERE li."platformId" = platform.id
  ) stored
  CROSS JOIN LATERAL (
    SELECT regexp_replace(regexp_replace(lower(substring(stored.url FROM '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+(?=[/?#]|$)')),
      '^(https://[^/]+):443$', '\1'), '^(http://[^/]+):80$', '\1') AS origin
  ) o
  WHERE o.origin IS NOT NULL
    AND o.origin IS DISTINCT FROM regexp_replace(regexp_replace(lower(substring(platform.issuer FROM '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+(?=[/?#]|$)')),
      '^(https://[^/]+):443$', '\1'), '^(http://[^/]+):80$', '\1')
  GROUP BY platform.id
) found
WHERE p.id = found.id AND cardinality(p."serviceOrigins") = 0;
