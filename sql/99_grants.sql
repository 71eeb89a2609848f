-- Last: close the api schema to everything but stockking_api (the proxy's
-- role) and the superuser.  Runs after every domain's file.

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_definer;
