-- pgbench: the floor of one database round trip, beside GET /health (which touches no database)
SELECT 1;
