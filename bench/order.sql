-- pgbench: what the proxy sends for POST /v1/trading/orders (one transaction,
-- one pipelined round trip), as a trusted client that states the caller
-- (the proxy's role sends request.jwt instead, which the database verifies)
\startpipeline
BEGIN;
SELECT set_config('request.user_id', '00000000-0000-4000-8000-' || lpad(:client_id::text, 12, '0'), true),
       set_config('request.role', 'CHILD', true), set_config('request.id', 'bench', true),
       set_config('statement_timeout', '10000', true);
SELECT api.place_order(jsonb_build_object('season_id', :season::int, 'symbol', 'MSFT', 'side', 'BUY', 'type', 'MARKET', 'quantity', 1));
COMMIT;
\endpipeline
