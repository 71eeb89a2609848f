-- pgbench: GET /v1/trading/portfolio exactly as the proxy sends it, as the
-- proxy's role: the caller is proven by an access token (-D token=...) that
-- the database verifies (HMAC-SHA256) in every transaction
\startpipeline
BEGIN READ ONLY;
SELECT set_config('request.jwt', :token, true), set_config('request.id', 'bench', true),
       set_config('statement_timeout', '10000', true);
SELECT api.get_portfolio(jsonb_build_object('season_id', :season::int));
COMMIT;
\endpipeline
