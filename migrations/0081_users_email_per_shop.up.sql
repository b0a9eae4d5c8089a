-- Emails are unique within a shop, not across shops: with one global
-- constraint, adding a user told a shop's owner which emails other shops'
-- staff use. Sign-in names the shop (docs/security.md). Emails are stored
-- lower-case (the CHECK on the column), so this is unique (shop, lower(email)).
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_shop_email_key UNIQUE (shop, email);
