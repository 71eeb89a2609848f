-- pgbench: the floor of one database round trip, beside GET /health (which touches no database)
\startpipeline
SELECT 1;
\endpipeline
