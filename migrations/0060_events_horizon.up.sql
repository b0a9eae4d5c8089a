-- Readers of "all" read the events of transactions older than every one that
-- may still add events. pg_snapshot_xmin alone also waits for transactions
-- that never write events: a projector's batch keeps its transaction open
-- while it updates its read model, and the relay idled behind it, tens of
-- milliseconds at a time under load. Such transactions say so by holding the
-- shared transaction-level advisory lock 122515828666218 ("omproj"); the lock
-- table ties it to the transaction's own id through the virtual transaction
-- id, which no other transaction has. Only a granted ExclusiveLock on a
-- transactionid is a transaction's own id: a transaction waiting for another
-- one's row asks for a ShareLock on that other id.
CREATE FUNCTION events_horizon() RETURNS xid8 LANGUAGE sql STABLE AS $$
  SELECT coalesce(
           (SELECT min(x) FROM pg_snapshot_xip(s) AS x
             WHERE x::xid NOT IN (
                   SELECT t.transactionid
                     FROM pg_locks a
                     JOIN pg_locks t ON t.virtualtransaction = a.virtualtransaction
                    WHERE a.locktype = 'advisory' AND a.granted AND a.objsubid = 1
                      AND a.classid = 28525 AND a.objid = 1886547818
                      AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted)),
           pg_snapshot_xmax(s))
    FROM pg_current_snapshot() AS s
$$;
