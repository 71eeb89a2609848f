-- Every object of the extension stockking as text, one line each, sorted:
-- functions (definition, owner, privileges, comment), tables and views (columns in
-- order, constraints, indexes, triggers, policies, row security, owner, privileges,
-- comments), sequences, types, the api schema, and what pg_dump saves.  Two databases
-- whose outputs are equal have the same extension catalog (regress/e2e/test_lifecycle.py
-- compares a fresh install with an upgraded one).
WITH members AS (
    SELECT d.classid, d.objid
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'stockking'
),
acl(oid, kind, items) AS (
    SELECT c.oid, 'rel', (SELECT string_agg(format('%s:%s:%s', a.grantee::regrole, a.privilege_type, a.is_grantable), ','
                                             ORDER BY a.grantee::regrole::text, a.privilege_type)
                            FROM aclexplode(c.relacl) a)
      FROM pg_class c
),
rels AS (
    SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    UNION
    -- the attributes of composite types
    SELECT c.oid, c.relname, c.relkind
      FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
      JOIN pg_class c ON c.oid = t.typrelid
),
lines(line) AS (
    -- functions
    SELECT format('function %s owner=%s secdef=%s acl=%s comment=%s def=%s', p.oid::regprocedure, p.proowner::regrole,
                  p.prosecdef,
                  (SELECT string_agg(format('%s:%s', a.grantee::regrole, a.privilege_type), ',' ORDER BY a.grantee::regrole::text)
                     FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a),
                  obj_description(p.oid, 'pg_proc'), md5(pg_get_functiondef(p.oid)))
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
     WHERE p.prokind <> 'a'
    UNION ALL
    -- relations
    SELECT format('relation %s kind=%s owner=%s rls=%s force=%s acl=%s comment=%s options=%s', c.oid::regclass, c.relkind,
                  c.relowner::regrole, c.relrowsecurity, c.relforcerowsecurity, a.items, obj_description(c.oid, 'pg_class'),
                  c.reloptions)
      FROM pg_class c JOIN rels r ON r.oid = c.oid JOIN acl a ON a.oid = c.oid
    UNION ALL
    SELECT format('column %s %s #%s %s notnull=%s default=%s identity=%s generated=%s comment=%s acl=%s', c.oid::regclass,
                  at.attname,
                  row_number() OVER (PARTITION BY c.oid ORDER BY at.attnum), format_type(at.atttypid, at.atttypmod),
                  at.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), at.attidentity, at.attgenerated,
                  col_description(c.oid, at.attnum),
                  (SELECT string_agg(format('%s:%s', x.grantee::regrole, x.privilege_type), ',' ORDER BY x.grantee::regrole::text, x.privilege_type)
                     FROM aclexplode(at.attacl) x))
      FROM pg_class c JOIN rels r ON r.oid = c.oid
      JOIN pg_attribute at ON at.attrelid = c.oid AND at.attnum > 0 AND NOT at.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = at.attnum
    UNION ALL
    SELECT format('constraint %s %s %s', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid))
      FROM pg_constraint co JOIN rels r ON r.oid = co.conrelid
    UNION ALL
    SELECT format('index %s', regexp_replace(pg_get_indexdef(i.indexrelid), ' USING ', ' using '))
      FROM pg_index i JOIN rels r ON r.oid = i.indrelid
    UNION ALL
    SELECT format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
      FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('policy %s %s cmd=%s permissive=%s roles=%s using=%s check=%s', po.polrelid::regclass, po.polname,
                  po.polcmd, po.polpermissive, (SELECT string_agg(x::regrole::text, ',' ORDER BY x::regrole::text) FROM unnest(po.polroles) x),
                  pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid))
      FROM pg_policy po JOIN rels r ON r.oid = po.polrelid
    UNION ALL
    SELECT format('view %s %s', c.oid::regclass, md5(pg_get_viewdef(c.oid)))
      FROM pg_class c JOIN rels r ON r.oid = c.oid WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('sequence %s %s start=%s increment=%s', s.seqrelid::regclass, format_type(s.seqtypid, NULL), s.seqstart,
                  s.seqincrement)
      FROM pg_sequence s JOIN rels r ON r.oid = s.seqrelid
    UNION ALL
    SELECT format('type %s %s', t.oid::regtype, t.typtype)
      FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
    UNION ALL
    SELECT format('schema %s owner=%s acl=%s comment=%s', n.nspname, n.nspowner::regrole,
                  (SELECT string_agg(format('%s:%s', x.grantee::regrole, x.privilege_type), ',' ORDER BY x.grantee::regrole::text, x.privilege_type)
                     FROM aclexplode(n.nspacl) x), obj_description(n.oid, 'pg_namespace'))
      FROM pg_namespace n WHERE n.nspname IN ('stockking', 'api')
    UNION ALL
    SELECT format('dump %s %s', c::regclass, cond)
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, cond) WHERE e.extname = 'stockking'
)
SELECT line FROM lines ORDER BY line COLLATE "C";
