-- event_canonical_bytes calls convert_to and extract on a timestamptz, which
-- Postgres marks STABLE, so as an IMMUTABLE function it could never be inlined:
-- the hash-chain trigger ran it through the SQL-function executor, which
-- prepares the function's body again in every statement. Declared STABLE
-- (what it is), it is inlined into the trigger's expression. The bytes are
-- unchanged. Measured with pgbench, one-row INSERT transactions on two cores:
-- 0.46–0.48 ms each instead of 0.60–0.80 ms.
ALTER FUNCTION event_canonical_bytes(events) STABLE;
