-- The functions that act beyond one caller's rows, and exactly what they
-- may touch.  They are SECURITY DEFINER and owned by stockking_system: not a
-- superuser and the owner of no table, it passes row-level security
-- (BYPASSRLS) but holds only the privileges granted below.  In one place, so
-- that the whole of what the web can reach past row-level security reads on
-- one page (and regress/sql/privileges.sql pins it).

-- Sign-up, log-in and sessions: before there is a caller, or for a refresh
-- token's user.
ALTER FUNCTION api.signup(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.login(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.refresh(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.logout(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.issue_refresh_token(uuid, uuid, bigint) OWNER TO stockking_system;
GRANT SELECT, INSERT ON stockking.family TO stockking_system;
GRANT SELECT, INSERT ON stockking.users TO stockking_system;
GRANT SELECT, INSERT, UPDATE (rotated_at, revoked_at, revoked_reason) ON stockking.refresh_token TO stockking_system;
-- a child's link code, made at sign-up (the trigger runs as the sign-up)
GRANT SELECT, INSERT, UPDATE (code, created_at) ON stockking.link_code TO stockking_system;
GRANT EXECUTE ON FUNCTION stockking.issue_link_code(uuid, uuid) TO stockking_system;
GRANT SELECT ON stockking.family_setting TO stockking_system;

-- Accounts: opened at sign-up and on joining a season (its opening deposit).
ALTER FUNCTION stockking.open_account(uuid, integer) OWNER TO stockking_system;
GRANT UPDATE (default_account_id) ON stockking.users TO stockking_system;
GRANT SELECT ON stockking.season, stockking.instrument, stockking.price_bar TO stockking_system;
GRANT SELECT, INSERT ON stockking.account, stockking.cash_ledger TO stockking_system;
GRANT EXECUTE ON FUNCTION stockking.season_clock(integer) TO stockking_system;

-- Events: the outbox is written by every domain through emit_event, numbered
-- in commit order, fanned out by the proxy (event_feed) and read back by
-- their recipients (event_replay, notifications).
ALTER FUNCTION stockking.emit_event(uuid, uuid, text, text, jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.outbox_commit_order() OWNER TO stockking_system;
ALTER FUNCTION api.event_feed(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.event_replay(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.events_for_caller(bigint, integer) OWNER TO stockking_system;
GRANT SELECT, INSERT, UPDATE (seq) ON stockking.outbox TO stockking_system;
GRANT USAGE ON SEQUENCE stockking.outbox_seq TO stockking_system;
GRANT SELECT ON stockking.outbox_pruned TO stockking_system;

-- The ledger's monthly summary and budget alerts, kept by statement
-- triggers on every user's entries.
ALTER FUNCTION stockking.ledger_summary_upsert(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.ledger_entry_summary() OWNER TO stockking_system;
ALTER FUNCTION stockking.ledger_check_budget(uuid, text) OWNER TO stockking_system;
GRANT SELECT, INSERT, UPDATE (total, entries), DELETE ON stockking.ledger_monthly TO stockking_system;
GRANT SELECT ON stockking.ledger_budget TO stockking_system;
GRANT SELECT, INSERT, UPDATE (outbox_id) ON stockking.ledger_budget_alert TO stockking_system;

-- Family merges (extension/family.c): the parent cannot see the child's
-- family before the link; the merge moves family_id of the tables it lists,
-- merges the settings and deletes the emptied family.
ALTER FUNCTION api.link_family(jsonb) OWNER TO stockking_system;
GRANT UPDATE, DELETE ON stockking.family TO stockking_system;
GRANT INSERT, UPDATE, DELETE ON stockking.family_setting TO stockking_system;
GRANT SELECT, DELETE ON stockking.family_summary_notice TO stockking_system;
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT stockking.family_tables() LOOP
        EXECUTE format('GRANT SELECT (family_id), UPDATE (family_id) ON stockking.%I TO stockking_system', t);
    END LOOP;
END
$$;

-- Other children's nickname and XP (leaderboards, leagues), through views
-- owned by stockking_system that show those two columns.
ALTER VIEW stockking.users_public OWNER TO stockking_system;
ALTER VIEW stockking.progress_public OWNER TO stockking_system;
GRANT SELECT (user_id, xp) ON stockking.user_progress TO stockking_system;

-- The community board (sql/92_community.sql): like and comment counts and
-- the open reports of every user, and hiding a VISIBLE post or comment when
-- its reports reach the threshold (the reporter cannot read it once hidden),
-- through views that show ids, states and reasons only.
ALTER VIEW stockking.community_like_count OWNER TO stockking_system;
ALTER VIEW stockking.community_comment_count OWNER TO stockking_system;
ALTER VIEW stockking.community_report_open OWNER TO stockking_system;
ALTER VIEW stockking.community_post_visible OWNER TO stockking_system;
ALTER VIEW stockking.community_comment_visible OWNER TO stockking_system;
GRANT SELECT (post_id) ON stockking.community_like TO stockking_system;
GRANT SELECT (post_id, comment_id, reason, status, created_at) ON stockking.community_report TO stockking_system;
GRANT SELECT (id, post_id, status, hidden_by, moderated_at, moderation_reason),
    UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_comment TO stockking_system;
GRANT SELECT (id, status, hidden_by, moderated_at, moderation_reason),
    UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_post TO stockking_system;

-- A certificate checked by its id (sql/90_education.sql): anyone sees the
-- nickname at issue, the course and the date, through a view that shows
-- those columns only.
ALTER VIEW stockking.certificate_public OWNER TO stockking_system;
GRANT SELECT (id, holder_nickname, issued_at, course_id) ON stockking.certificate TO stockking_system;
GRANT SELECT (id, code, title) ON stockking.course TO stockking_system;

-- The route and error tables and the OpenAPI document: the api's own
-- description, read by the proxy and by anyone.
ALTER FUNCTION api.error_table() OWNER TO stockking_definer;
ALTER FUNCTION api.route_table() OWNER TO stockking_definer;
ALTER FUNCTION api.openapi(jsonb) OWNER TO stockking_definer;
GRANT SELECT ON stockking.error_code, stockking.route TO stockking_definer;

-- Nothing the web can reach runs as a superuser: every SECURITY DEFINER
-- function of the extension is owned by one of its two roles.
DO $$
DECLARE
    f text;
BEGIN
    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO f
      FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'stockking'
     WHERE p.prosecdef AND p.proowner NOT IN ('stockking_definer'::regrole, 'stockking_system'::regrole);
    IF f IS NOT NULL THEN
        RAISE EXCEPTION 'SECURITY DEFINER functions owned by neither stockking_definer nor stockking_system: %', f;
    END IF;
END
$$;
