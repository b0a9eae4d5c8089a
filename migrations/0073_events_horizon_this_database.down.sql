-- Back to 0072's events_horizon(), which also waits for other databases' transactions.
CREATE OR REPLACE FUNCTION events_horizon() RETURNS xid8 LANGUAGE plpgsql STABLE AS $$
DECLARE
  s pg_snapshot := pg_current_snapshot();
  horizon xid8;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_snapshot_xip(s)) THEN
    RETURN pg_snapshot_xmax(s);
  END IF;
  WITH l AS MATERIALIZED (
    SELECT locktype, virtualtransaction, transactionid FROM pg_locks
     WHERE granted
       AND ((locktype = 'advisory' AND objsubid = 1 AND classid = 28525 AND objid = 1886547818
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
         OR (locktype = 'transactionid' AND mode = 'ExclusiveLock')))
  SELECT min(x) INTO horizon FROM pg_snapshot_xip(s) AS x
   WHERE x::xid NOT IN (SELECT t.transactionid FROM l a JOIN l t USING (virtualtransaction)
                         WHERE a.locktype = 'advisory' AND t.locktype = 'transactionid');
  RETURN coalesce(horizon, pg_snapshot_xmax(s));
END
$$;
