-- Fails while two shops share an email, as it must: sign-in by email alone
-- could not tell those users apart.
ALTER TABLE users DROP CONSTRAINT users_shop_email_key;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
