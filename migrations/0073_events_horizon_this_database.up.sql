-- A backend belongs to one database, so a transaction of another database on
-- the same server never adds to this events table. events_horizon() still
-- held readers of "all" back for it, since snapshots span the server: one
-- long transaction in any other database stalled the relay. Those of other
-- databases' backends (pg_stat_activity.backend_xid) now count as adding
-- none. One that pg_stat_activity does not show still holds readers back,
-- as before.
CREATE OR REPLACE FUNCTION events_horizon() RETURNS xid8 LANGUAGE plpgsql STABLE AS $$
DECLARE
  s pg_snapshot := pg_current_snapshot();
  horizon xid8;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_snapshot_xip(s)) THEN
    RETURN pg_snapshot_xmax(s);
  END IF;
  WITH here AS (SELECT oid FROM pg_database WHERE datname = current_database()),
  l AS MATERIALIZED (
    SELECT locktype, virtualtransaction, transactionid FROM pg_locks
     WHERE granted
       AND ((locktype = 'advisory' AND objsubid = 1 AND classid = 28525 AND objid = 1886547818
             AND database = (SELECT oid FROM here))
         OR (locktype = 'transactionid' AND mode = 'ExclusiveLock')))
  SELECT min(x) INTO horizon FROM pg_snapshot_xip(s) AS x
   WHERE x::xid NOT IN (SELECT t.transactionid FROM l a JOIN l t USING (virtualtransaction)
                         WHERE a.locktype = 'advisory' AND t.locktype = 'transactionid')
     AND x::xid NOT IN (SELECT backend_xid FROM pg_stat_activity
                         WHERE backend_xid IS NOT NULL
                           AND datid IS DISTINCT FROM (SELECT oid FROM here));
  RETURN coalesce(horizon, pg_snapshot_xmax(s));
END
$$;
