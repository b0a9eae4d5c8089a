DROP FUNCTION events_horizon();
