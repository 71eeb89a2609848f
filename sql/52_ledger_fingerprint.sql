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

-- The upgrade from 0.1.0.  Its script first moves every fingerprint 0.1.0 made into
-- ledger_entry.legacy_fingerprint (at that moment every stored fingerprint is 0.1.0's), then calls
-- this function, which gives each such entry the SHA-256 fingerprint of the same row where it can
-- prove it.  The entry keeps its date, kind and amount; its description is what the import kept of
-- it (the memo, else the merchant, else empty) and its occurrence at most the number of such
-- entries: a candidate is taken only when its 0.1.0 fingerprint is the stored one, so an entry only
-- ever gets its own row's fingerprint (and loses its legacy_fingerprint).  An entry whose
-- description the import did not keep (a file with a memo column, whose description named a known
-- merchant: "스타벅스 강남점" became 스타벅스 and its memo the file's memo), or that was changed since
-- (a chat correction), cannot be proven: it keeps its 0.1.0 fingerprint in legacy_fingerprint,
-- with fingerprint NULL, and the import, which computes every row's 0.1.0 fingerprint too
-- (ledger_csv_rows.legacy_fingerprint), finds it by that: importing its file again adds nothing.
-- fingerprint is left NULL rather than keeping the 0.1.0 value so that the column holds SHA-256
-- fingerprints only; and since this function reads legacy_fingerprint alone, running it again
-- can never take a fingerprint made since 0.2.0 for a 0.1.0 one (a 0.2.0 entry of a memo-column
-- file cannot be proven either).
CREATE FUNCTION stockking.ledger_refingerprint() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_checked  integer;
    v_replaced integer;
BEGIN
    LOCK TABLE stockking.ledger_entry IN SHARE ROW EXCLUSIVE MODE;
    WITH cand AS (
        SELECT e.id, e.user_id, x.new_fp
          FROM stockking.ledger_entry e
          LEFT JOIN LATERAL (
              SELECT stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) AS new_fp
                FROM unnest(ARRAY[e.memo, coalesce(e.merchant, ''), '']) WITH ORDINALITY AS d (d, k),
                     generate_series(1, (SELECT count(*) FROM stockking.ledger_entry s
                                          WHERE s.user_id = e.user_id AND s.entry_date = e.entry_date AND s.kind = e.kind
                                            AND s.amount = e.amount
                                            AND coalesce(s.fingerprint, s.legacy_fingerprint) IS NOT NULL)::integer + 2) AS o (o)
               WHERE stockking.ledger_row_fingerprint_v1(e.entry_date, e.kind, e.amount, d.d, o.o) = e.legacy_fingerprint
               ORDER BY d.k, o.o LIMIT 1) x ON true
         WHERE e.legacy_fingerprint IS NOT NULL),
    upd AS (
        -- (an entry of the user made since with that fingerprint would be the same row: then it stays as it is)
        UPDATE stockking.ledger_entry e SET fingerprint = c.new_fp, legacy_fingerprint = NULL
          FROM cand c
         WHERE e.id = c.id AND c.new_fp IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM stockking.ledger_entry o WHERE o.user_id = c.user_id AND o.fingerprint = c.new_fp)
        RETURNING 1)
    SELECT (SELECT count(*) FROM cand), (SELECT count(*) FROM upd) INTO v_checked, v_replaced;
    RETURN jsonb_build_object('checked', v_checked, 'replaced', v_replaced, 'unverified', v_checked - v_replaced);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_refingerprint() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_refingerprint() IS
$$Upgrade 0.1.0 -> 0.2.0 (and safe to run again): every entry holding a 0.1.0 fingerprint (legacy_fingerprint, where the
upgrade moved them) gets its SHA-256 one (fingerprint) where it can be proven against the old one, and loses the old.
Returns {"checked" (entries with a legacy_fingerprint), "replaced" (proven now), "unverified" (kept in
legacy_fingerprint: the import did not keep the row's description, or the entry was changed since; an import still
counts their rows as already in the ledger)}.$$;
