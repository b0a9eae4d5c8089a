-- Back to the SQL function of 0060.
CREATE OR REPLACE FUNCTION events_horizon() RETURNS xid8 LANGUAGE sql STABLE AS $$
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
