ALTER FUNCTION event_canonical_bytes(events) IMMUTABLE;
