-- event_canonical_bytes calls convert_to and extract on a timestamptz, which
-- Postgres marks STABLE, so as an IMMUTABLE function it could never be inlined:
-- the hash-chain trigger ran it through the SQL-function executor for every
-- inserted event, most of an event INSERT's cost. Declared STABLE (what it
-- is), it is inlined into the trigger's expression. The bytes are unchanged.
ALTER FUNCTION event_canonical_bytes(events) STABLE;
