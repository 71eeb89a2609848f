-- Ledger import fingerprints, issue 8: SHA-256 instead of release 0.1.0's
-- hash_bytes_extended, whose result depends on the machine's byte order.
-- A row's fingerprint is the first 128 bits of the SHA-256 of
--   "stockking-ledger-row-2" NUL YYYY-MM-DD NUL EXPENSE|INCOME NUL amount NUL description NUL occurrence
-- (extension/ledger_import.c), stored in ledger_entry.fingerprint (uuid, unchanged).

CREATE FUNCTION stockking.ledger_row_fingerprint(entry_date date, kind text, amount bigint, description text,
                                                 occurrence integer) RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_ledger_row_fingerprint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.ledger_row_fingerprint(date, text, bigint, text, integer) IS
    'the fingerprint of an imported row: the first 128 bits of SHA-256 over its date, kind, amount, description (as the file has it) and occurrence among equal rows of the file; the same on every machine';

CREATE FUNCTION stockking.ledger_row_fingerprint_v1(entry_date date, kind text, amount bigint, description text,
                                                    occurrence integer) RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_ledger_row_fingerprint_v1'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION stockking.ledger_row_fingerprint_v1(date, text, bigint, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_row_fingerprint_v1(date, text, bigint, text, integer) IS
    'release 0.1.0''s fingerprint (hash_bytes_extended, byte-order dependent): only for stockking.ledger_refingerprint()';

-- The upgrade from 0.1.0: every stored fingerprint made by 0.1.0 is replaced by the SHA-256 one of
-- the same row, so that importing an old file again still adds nothing.  The entry keeps its date,
-- kind and amount; its description is what the import kept of it (the memo, else the merchant,
-- else empty) and its occurrence at most the number of such entries: each candidate is checked
-- against the old fingerprint, so a fingerprint is only ever replaced by the row's own.  A row
-- whose description the import did not keep (a file with a memo column, whose description named
-- a known merchant: "스타벅스 강남점" became 스타벅스 and its memo the file's memo), or that was
-- changed since (a chat correction), cannot be proven and keeps its old fingerprint: it is counted
-- as "unverified", and a new import of its file adds it again.
CREATE FUNCTION stockking.ledger_refingerprint() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_checked  integer;
    v_replaced integer;
    v_current  integer;
BEGIN
    LOCK TABLE stockking.ledger_entry IN SHARE ROW EXCLUSIVE MODE;
    WITH cand AS (
        SELECT e.id, x.new_fp, coalesce(x.current, false) AS current
          FROM stockking.ledger_entry e
          LEFT JOIN LATERAL (
              SELECT stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) AS new_fp,
                     stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint AS current
                FROM unnest(ARRAY[e.memo, coalesce(e.merchant, ''), '']) WITH ORDINALITY AS d (d, k),
                     generate_series(1, (SELECT count(*) FROM stockking.ledger_entry s
                                          WHERE s.user_id = e.user_id AND s.entry_date = e.entry_date AND s.kind = e.kind
                                            AND s.amount = e.amount AND s.fingerprint IS NOT NULL)::integer + 2) AS o (o)
               WHERE stockking.ledger_row_fingerprint_v1(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint
                  OR stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint
               ORDER BY d.k, o.o LIMIT 1) x ON true
         WHERE e.fingerprint IS NOT NULL),
    upd AS (
        UPDATE stockking.ledger_entry e SET fingerprint = c.new_fp
          FROM cand c
         WHERE e.id = c.id AND c.new_fp IS NOT NULL AND NOT c.current
        RETURNING 1)
    SELECT (SELECT count(*) FROM cand), (SELECT count(*) FROM upd), (SELECT count(*) FROM cand WHERE current)
      INTO v_checked, v_replaced, v_current;
    RETURN jsonb_build_object('checked', v_checked, 'replaced', v_replaced, 'current', v_current,
                              'unverified', v_checked - v_replaced - v_current);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_refingerprint() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_refingerprint() IS
$$Upgrade 0.1.0 -> 0.2.0 (and safe to run again): replace every imported entry's 0.1.0 fingerprint by its SHA-256 one,
proven against the old one.  Returns {"checked","replaced","current" (SHA-256 already),"unverified" (kept: the import
did not keep the row's description, or the entry was changed since)}.$$;
