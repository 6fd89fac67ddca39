-- Tokens at rest: the session token of a cookie and the token of a password-reset link (or an
-- OAuth state) are kept only as SHA-256 hashes from now on (see docs/decisions/0013). Existing rows
-- are hashed in place the same way the server hashes them, so nobody is signed out and links
-- already mailed keep working. Our own email-change rows already hold a hash (change-email:<hex>).
UPDATE "sessions"
   SET "token" = 'sha256:' || translate(rtrim(encode(sha256(convert_to("token", 'UTF8')), 'base64'), '='), '+/', '-_')
 WHERE "token" NOT LIKE 'sha256:%';
--> statement-breakpoint
UPDATE "verifications"
   SET "identifier" = translate(rtrim(encode(sha256(convert_to("identifier", 'UTF8')), 'base64'), '='), '+/', '-_')
 WHERE "identifier" NOT LIKE 'change-email:%'
   AND "identifier" !~ '^[A-Za-z0-9_-]{43}$';
