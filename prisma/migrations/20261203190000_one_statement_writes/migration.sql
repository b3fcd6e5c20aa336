-- Every write in one statement, and events ordered without a lock common to all writes.
-- (Written by hand: the Prisma schema describes the tables, not functions. src/events/write.ts calls
-- the gateway_write_* functions; docs/events.md ("The write path") explains the ordering.)

-- ── Event ids: the writing transaction's id, so readers can tell which are safe to deliver ─────────
-- An event's id is (the xid8 of its transaction) × 1024 + (its place among that transaction's
-- events). Ids of one transaction are consecutive, and a transaction's ids all sort after those of
-- every transaction that got its xid earlier. A reader delivers only ids below
-- gateway_event_watermark(): transactions whose xid is older than the oldest one still running have
-- all ended, so no event can later appear below that line. Resume points stay plain increasing
-- integers, and every id given out before this migration sorts below every id given out after it
-- (checked below).

CREATE OR REPLACE FUNCTION gateway_next_event_id() RETURNS bigint AS $$
DECLARE
  base bigint := pg_current_xact_id()::text::bigint * 1024;
  n bigint;
BEGIN
  -- The events this transaction has recorded so far (an index range read, usually empty). One event
  -- per statement: rows of one multi-row INSERT would not see each other here.
  SELECT count(*) INTO n FROM events WHERE id >= base AND id < base + 1024;
  IF n >= 1024 THEN
    RAISE EXCEPTION 'A transaction may record at most 1024 events';
  END IF;
  RETURN base + n;
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Events with an id below this are final: every transaction that could still add one below it has ended.
CREATE OR REPLACE FUNCTION gateway_event_watermark() RETURNS bigint AS $$
  SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1024
$$ LANGUAGE sql STABLE;

DO $$
BEGIN
  IF (SELECT COALESCE(max(id), 0) FROM events) >= pg_current_xact_id()::text::bigint * 1024 THEN
    RAISE EXCEPTION 'events.id already exceeds the transaction-ordered id space; see docs/events.md, "The write path"';
  END IF;
END;
$$;

ALTER TABLE "events" ALTER COLUMN "id" SET DEFAULT gateway_next_event_id();
DROP SEQUENCE IF EXISTS "events_id_seq";

-- ── Shapes a write answers with (camelCase JSON, as src/loaders.ts reads them) ───────────────────
-- The helpers are PL/pgSQL, not SQL functions: PostgreSQL (before 18) plans a SQL function's body
-- again on every call from PL/pgSQL, which cost a third of a write's throughput; PL/pgSQL keeps
-- its plans for the session.

-- An instant as JavaScript's toISOString writes it (the form events have always carried).
CREATE OR REPLACE FUNCTION gateway_iso(at timestamptz) RETURNS jsonb AS $$
BEGIN
  RETURN to_jsonb(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
END;
$$ LANGUAGE plpgsql IMMUTABLE;

-- (Instants as to_jsonb writes them, ISO 8601 with an offset: src/events/write.ts makes them Dates.)
CREATE OR REPLACE FUNCTION gateway_setting_json(s settings) RETURNS jsonb AS $$
BEGIN
  RETURN jsonb_build_object('id', s.id, 'customerId', s.customer_id, 'name', s.name, 'value', s.value,
    'createdAt', s.created_at, 'modifiedAt', s.modified_at);
END;
$$ LANGUAGE plpgsql STABLE;

-- The customer with its settings (by name), deleted or not.
CREATE OR REPLACE FUNCTION gateway_customer_json(p_id integer) RETURNS jsonb AS $$
BEGIN
  RETURN (SELECT jsonb_build_object('id', c.id, 'uuid', c.uuid, 'name', c.name, 'active', c.active, 'profile', c.profile,
    'billingPlan', c.billing_plan, 'createdAt', c.created_at, 'modifiedAt', c.modified_at,
    'lastActivity', c.last_activity, 'deletedAt', c.deleted_at,
    'settings', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', s.id, 'customerId', s.customer_id, 'name', s.name,
        'value', s.value, 'createdAt', s.created_at, 'modifiedAt', s.modified_at) ORDER BY s.name)
      FROM settings s WHERE s.customer_id = c.id), '[]'))
    FROM customers c WHERE c.id = p_id);
END;
$$ LANGUAGE plpgsql STABLE;

CREATE OR REPLACE FUNCTION gateway_key_json(k api_keys) RETURNS jsonb AS $$
BEGIN
  RETURN jsonb_build_object('id', k.id, 'keyId', k.key_id, 'name', k.name, 'type', k.type, 'secretHash', k.secret_hash,
    'active', k.active, 'customerId', k.customer_id, 'createdAt', k.created_at,
    'modifiedAt', k.modified_at, 'lastUsedAt', k.last_used_at, 'deletedAt', k.deleted_at);
END;
$$ LANGUAGE plpgsql STABLE;

-- ── The pieces every write shares ────────────────────────────────────────────────────────────────

-- Records one event of the calling transaction; answers what the service acts on after commit.
-- p_actor: {"keyId", "kind", "requestId"} of the request.
CREATE OR REPLACE FUNCTION gateway_record_event(p_customer integer, p_uuid uuid, p_type text, p_subject text,
  p_changes jsonb, p_actor jsonb) RETURNS jsonb AS $$
BEGIN
  INSERT INTO events (customer_id, customer_uuid, type, subject, actor_key_id, actor_kind, request_id, changes)
  VALUES (p_customer, p_uuid, p_type, p_subject, p_actor->>'keyId', p_actor->>'kind', left(p_actor->>'requestId', 128), p_changes);
  RETURN jsonb_build_object('type', p_type, 'subject', p_subject, 'changes', p_changes);
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Moves modified_at (strictly past the previous value, at the column's 1 ms precision, even if the
-- clock stands still or goes back) and holds the row's lock to commit: one customer's writes apply
-- one after another, and modified_at orders them. NULL when the customer does not exist or is deleted.
CREATE OR REPLACE FUNCTION gateway_touch_customer(p_customer integer) RETURNS customers AS $$
DECLARE
  c customers;
BEGIN
  UPDATE customers SET modified_at = GREATEST(modified_at + interval '1 millisecond', clock_timestamp())
  WHERE id = p_customer AND deleted_at IS NULL
  RETURNING * INTO c;
  RETURN c;
END;
$$ LANGUAGE plpgsql VOLATILE;

-- The customer's row lock without moving modified_at (key changes).
CREATE OR REPLACE FUNCTION gateway_lock_customer(p_customer integer) RETURNS customers AS $$
DECLARE
  c customers;
BEGIN
  SELECT * INTO c FROM customers WHERE id = p_customer AND deleted_at IS NULL FOR UPDATE;
  RETURN c;
END;
$$ LANGUAGE plpgsql VOLATILE;

-- A key write's first step: the customer's row lock, then its live key by keyId, else by numeric id,
-- else by name when exactly one has it (src/auth/api-keys.ts resolveApiKey reads by the same rule).
-- Answers {"key": <api_keys.id>, "uuid": <customer uuid>}, or {"refusal": {"gone" | "missing" |
-- "ambiguous": n}} for the write to answer as it is.
CREATE OR REPLACE FUNCTION gateway_lock_key(p_customer integer, p_ref text) RETURNS jsonb AS $$
DECLARE
  c customers;
  key_id integer;
  n integer;
BEGIN
  c := gateway_lock_customer(p_customer);
  IF c.id IS NULL THEN RETURN jsonb_build_object('refusal', jsonb_build_object('gone', true)); END IF;
  SELECT id INTO key_id FROM api_keys WHERE customer_id = p_customer AND deleted_at IS NULL AND api_keys.key_id = p_ref;
  IF key_id IS NULL AND p_ref ~ '^[0-9]{1,9}$' THEN
    SELECT id INTO key_id FROM api_keys WHERE customer_id = p_customer AND deleted_at IS NULL AND id = p_ref::integer;
  END IF;
  IF key_id IS NULL THEN
    SELECT count(*), min(id) INTO n, key_id FROM api_keys WHERE customer_id = p_customer AND deleted_at IS NULL AND name = p_ref;
    IF n > 1 THEN RETURN jsonb_build_object('refusal', jsonb_build_object('ambiguous', n)); END IF;
  END IF;
  IF key_id IS NULL THEN RETURN jsonb_build_object('refusal', jsonb_build_object('missing', true)); END IF;
  RETURN jsonb_build_object('key', key_id, 'uuid', c.uuid);
END;
$$ LANGUAGE plpgsql VOLATILE;

-- ── The writes. Each answers {"customer": …, "events": [...], …} or a refusal, and is one
-- statement: the change, its event, and (by the row triggers) the notifications, committed at once.

-- Creates or replaces a setting; the customer's modified_at moves with it.
CREATE OR REPLACE FUNCTION gateway_write_set_setting(p_customer integer, p_name text, p_value jsonb, p_actor jsonb)
RETURNS jsonb AS $$
DECLARE
  c customers;
  before jsonb;
  s settings;
BEGIN
  c := gateway_touch_customer(p_customer);
  IF c.id IS NULL THEN RETURN jsonb_build_object('gone', true); END IF;
  SELECT value INTO before FROM settings WHERE customer_id = p_customer AND name = p_name;
  INSERT INTO settings (customer_id, name, value, created_at, modified_at)
  VALUES (p_customer, p_name, p_value, c.modified_at, c.modified_at)
  ON CONFLICT (customer_id, name) DO UPDATE SET value = EXCLUDED.value, modified_at = EXCLUDED.modified_at
  RETURNING * INTO s;
  RETURN jsonb_build_object(
    'events', jsonb_build_array(gateway_record_event(c.id, c.uuid, 'setting.set', p_name,
      jsonb_build_object(p_name, jsonb_build_object('from', before, 'to', s.value)), p_actor)),
    'customer', gateway_customer_json(c.id),
    'setting', gateway_setting_json(s));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Removes a setting; {"missing": true} (and nothing changes) when it is not set.
CREATE OR REPLACE FUNCTION gateway_write_remove_setting(p_customer integer, p_name text, p_actor jsonb)
RETURNS jsonb AS $$
DECLARE
  c customers;
  s settings;
BEGIN
  c := gateway_lock_customer(p_customer);
  IF c.id IS NULL THEN RETURN jsonb_build_object('gone', true); END IF;
  DELETE FROM settings WHERE customer_id = p_customer AND name = p_name RETURNING * INTO s;
  IF NOT FOUND THEN RETURN jsonb_build_object('missing', true); END IF;
  c := gateway_touch_customer(p_customer);
  RETURN jsonb_build_object(
    'events', jsonb_build_array(gateway_record_event(c.id, c.uuid, 'setting.removed', p_name,
      jsonb_build_object(p_name, jsonb_build_object('from', s.value, 'to', NULL)), p_actor)),
    'customer', gateway_customer_json(c.id),
    'removed', gateway_setting_json(s));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Updates profile, active and billing plan (the members of p_set that are present; a billingPlan of
-- null removes it) if the row still holds p_seen (profile, active, billingPlan as the caller read
-- them, and merged from); otherwise changes nothing and answers {"stale": true, "customer": …} with
-- the row as it is now, for the caller to merge again. modified_at moves even if nothing changed;
-- an event is recorded only for fields that did.
CREATE OR REPLACE FUNCTION gateway_write_update_customer(p_customer integer, p_seen jsonb, p_set jsonb, p_actor jsonb)
RETURNS jsonb AS $$
DECLARE
  c customers;
  changes jsonb := '{}';
  seen_plan jsonb := NULLIF(p_seen->'billingPlan', 'null'::jsonb);
  events jsonb := '[]';
BEGIN
  UPDATE customers SET
    profile = CASE WHEN p_set ? 'profile' THEN p_set->'profile' ELSE profile END,
    billing_plan = CASE WHEN p_set ? 'billingPlan' THEN NULLIF(p_set->'billingPlan', 'null'::jsonb) ELSE billing_plan END,
    modified_at = GREATEST(modified_at + interval '1 millisecond', clock_timestamp())
  WHERE id = p_customer AND deleted_at IS NULL
    AND profile = p_seen->'profile' AND active = (p_seen->>'active')::boolean AND billing_plan IS NOT DISTINCT FROM seen_plan
  RETURNING * INTO c;
  IF NOT FOUND THEN
    PERFORM 1 FROM customers WHERE id = p_customer AND deleted_at IS NULL;
    IF NOT FOUND THEN RETURN jsonb_build_object('gone', true); END IF;
    RETURN jsonb_build_object('stale', true, 'customer', gateway_customer_json(p_customer));
  END IF;
  -- `active` by a statement of its own, only when it changes: the key caches' trigger fires on any
  -- UPDATE naming the column (migration soft_delete), and empties every process's key cache.
  IF p_set ? 'active' AND (p_set->>'active')::boolean <> c.active THEN
    UPDATE customers SET active = (p_set->>'active')::boolean WHERE id = p_customer RETURNING * INTO c;
  END IF;
  IF c.profile <> p_seen->'profile' THEN
    changes := changes || jsonb_build_object('profile', jsonb_build_object('from', p_seen->'profile', 'to', c.profile));
  END IF;
  IF c.active <> (p_seen->>'active')::boolean THEN
    changes := changes || jsonb_build_object('active', jsonb_build_object('from', NOT c.active, 'to', c.active));
  END IF;
  IF c.billing_plan IS DISTINCT FROM seen_plan THEN
    changes := changes || jsonb_build_object('billingPlan', jsonb_build_object('from', seen_plan, 'to', c.billing_plan));
  END IF;
  IF changes <> '{}' THEN
    events := jsonb_build_array(gateway_record_event(c.id, c.uuid, 'customer.updated', NULL, changes, p_actor));
  END IF;
  RETURN jsonb_build_object('events', events, 'customer', gateway_customer_json(c.id));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Registers a customer; a taken name fails with unique_violation (23505) and leaves nothing.
CREATE OR REPLACE FUNCTION gateway_write_create_customer(p_uuid uuid, p_name text, p_profile jsonb, p_billing_plan jsonb,
  p_active boolean, p_actor jsonb) RETURNS jsonb AS $$
DECLARE
  c customers;
  changes jsonb;
BEGIN
  INSERT INTO customers (uuid, name, profile, billing_plan, active)
  VALUES (p_uuid, p_name, p_profile, NULLIF(p_billing_plan, 'null'::jsonb), p_active)
  RETURNING * INTO c;
  changes := jsonb_build_object('name', jsonb_build_object('from', NULL, 'to', c.name),
    'profile', jsonb_build_object('from', NULL, 'to', c.profile),
    'active', jsonb_build_object('from', NULL, 'to', c.active));
  IF c.billing_plan IS NOT NULL THEN
    changes := changes || jsonb_build_object('billingPlan', jsonb_build_object('from', NULL, 'to', c.billing_plan));
  END IF;
  RETURN jsonb_build_object(
    'events', jsonb_build_array(gateway_record_event(c.id, c.uuid, 'customer.created', NULL, changes, p_actor)),
    'customer', gateway_customer_json(c.id));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Deletes a customer: deleted_at is the write's own modified_at. Its rows stay, its name stays taken.
CREATE OR REPLACE FUNCTION gateway_write_delete_customer(p_customer integer, p_actor jsonb) RETURNS jsonb AS $$
DECLARE
  c customers;
BEGIN
  c := gateway_touch_customer(p_customer);
  IF c.id IS NULL THEN RETURN jsonb_build_object('gone', true); END IF;
  UPDATE customers SET deleted_at = modified_at WHERE id = p_customer RETURNING * INTO c;
  RETURN jsonb_build_object(
    'events', jsonb_build_array(gateway_record_event(c.id, c.uuid, 'customer.deleted', NULL,
      jsonb_build_object('deletedAt', jsonb_build_object('from', NULL, 'to', gateway_iso(c.deleted_at))), p_actor)),
    'customer', gateway_customer_json(c.id));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Issues a customer key (its secret's hash only).
CREATE OR REPLACE FUNCTION gateway_write_create_key(p_customer integer, p_key_id text, p_name text, p_secret_hash text,
  p_actor jsonb) RETURNS jsonb AS $$
DECLARE
  c customers;
  k api_keys;
BEGIN
  c := gateway_lock_customer(p_customer);
  IF c.id IS NULL THEN RETURN jsonb_build_object('gone', true); END IF;
  INSERT INTO api_keys (key_id, name, type, customer_id, secret_hash, modified_at)
  VALUES (p_key_id, p_name, 'customer', p_customer, p_secret_hash, clock_timestamp())
  RETURNING * INTO k;
  RETURN jsonb_build_object(
    'events', jsonb_build_array(gateway_record_event(c.id, c.uuid, 'apikey.created', k.key_id,
      jsonb_build_object('keyId', jsonb_build_object('from', NULL, 'to', k.key_id),
        'name', jsonb_build_object('from', NULL, 'to', k.name),
        'type', jsonb_build_object('from', NULL, 'to', k.type),
        'active', jsonb_build_object('from', NULL, 'to', k.active)), p_actor)),
    'key', gateway_key_json(k));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Renames (p_name), suspends or resumes (p_active) a key; NULL leaves a field as it is.
CREATE OR REPLACE FUNCTION gateway_write_update_key(p_customer integer, p_ref text, p_name text, p_active boolean,
  p_actor jsonb) RETURNS jsonb AS $$
DECLARE
  target jsonb := gateway_lock_key(p_customer, p_ref);
  old api_keys;
  k api_keys;
  changes jsonb := '{}';
  events jsonb := '[]';
BEGIN
  IF target ? 'refusal' THEN RETURN target->'refusal'; END IF;
  SELECT * INTO old FROM api_keys WHERE id = (target->>'key')::integer;
  UPDATE api_keys SET name = COALESCE(p_name, name), modified_at = clock_timestamp() WHERE id = old.id RETURNING * INTO k;
  -- `active` only when given: the key caches' trigger fires on any UPDATE naming the column.
  IF p_active IS NOT NULL THEN
    UPDATE api_keys SET active = p_active WHERE id = old.id RETURNING * INTO k;
  END IF;
  IF k.name <> old.name THEN
    changes := changes || jsonb_build_object('name', jsonb_build_object('from', old.name, 'to', k.name));
  END IF;
  IF k.active <> old.active THEN
    changes := changes || jsonb_build_object('active', jsonb_build_object('from', old.active, 'to', k.active));
  END IF;
  IF changes <> '{}' THEN
    events := jsonb_build_array(gateway_record_event(p_customer, (target->>'uuid')::uuid, 'apikey.updated', k.key_id, changes, p_actor));
  END IF;
  RETURN jsonb_build_object('events', events, 'key', gateway_key_json(k));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Deletes a key: refused for ever, gone from every list; its row stays. Answers the key as it was.
CREATE OR REPLACE FUNCTION gateway_write_delete_key(p_customer integer, p_ref text, p_actor jsonb) RETURNS jsonb AS $$
DECLARE
  target jsonb := gateway_lock_key(p_customer, p_ref);
  old api_keys;
  at timestamptz;
BEGIN
  IF target ? 'refusal' THEN RETURN target->'refusal'; END IF;
  UPDATE api_keys SET deleted_at = clock_timestamp() WHERE id = (target->>'key')::integer RETURNING * INTO old;
  -- The key as it was: only deleted_at moved.
  at := old.deleted_at;
  old.deleted_at := NULL;
  RETURN jsonb_build_object(
    'events', jsonb_build_array(gateway_record_event(p_customer, (target->>'uuid')::uuid, 'apikey.deleted', old.key_id,
      jsonb_build_object('deletedAt', jsonb_build_object('from', NULL, 'to', gateway_iso(at))), p_actor)),
    'key', gateway_key_json(old));
END;
$$ LANGUAGE plpgsql VOLATILE;

-- ── The cache trigger, cheaper: columns compared as rows, not each row turned into JSON four times ──
-- Same payloads as migration read_cache_notify. A column added to customers or api_keys must be
-- added to the "everything but the activity time" lists below.
CREATE OR REPLACE FUNCTION gateway_notify_cache() RETURNS trigger AS $$
DECLARE
  old_id integer;
  new_id integer;
  prefix text := '';
BEGIN
  IF TG_TABLE_NAME = 'customers' THEN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
      IF NEW.last_activity IS DISTINCT FROM OLD.last_activity AND NEW.last_activity IS NOT NULL
         AND (NEW.uuid, NEW.name, NEW.active, NEW.profile, NEW.billing_plan, NEW.created_at, NEW.modified_at, NEW.deleted_at)
             IS NOT DISTINCT FROM (OLD.uuid, OLD.name, OLD.active, OLD.profile, OLD.billing_plan, OLD.created_at, OLD.modified_at, OLD.deleted_at) THEN
        PERFORM pg_notify('gateway_cache',
          'a:' || NEW.id || ':' || round(extract(epoch FROM NEW.last_activity) * 1000)::bigint);
        RETURN NULL;
      END IF;
      IF NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NULL;
      END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN old_id := OLD.id; END IF;
    IF TG_OP <> 'DELETE' THEN new_id := NEW.id; END IF;
  ELSE
    IF TG_TABLE_NAME = 'api_keys' THEN
      prefix := 'k:';
      IF TG_OP = 'UPDATE' AND NEW.customer_id IS NOT DISTINCT FROM OLD.customer_id AND NEW.customer_id IS NOT NULL
         AND NEW.last_used_at IS NOT NULL
         AND (NEW.id, NEW.key_id, NEW.name, NEW.type, NEW.secret_hash, NEW.active, NEW.created_at, NEW.modified_at, NEW.deleted_at)
             IS NOT DISTINCT FROM (OLD.id, OLD.key_id, OLD.name, OLD.type, OLD.secret_hash, OLD.active, OLD.created_at, OLD.modified_at, OLD.deleted_at) THEN
        IF NEW.last_used_at IS DISTINCT FROM OLD.last_used_at THEN
          PERFORM pg_notify('gateway_cache',
            'u:' || NEW.customer_id || ':' || NEW.id || ':' || round(extract(epoch FROM NEW.last_used_at) * 1000)::bigint);
        END IF;
        RETURN NULL;
      END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN old_id := OLD.customer_id; END IF;
    IF TG_OP <> 'DELETE' THEN new_id := NEW.customer_id; END IF;
  END IF;
  IF old_id IS NOT NULL THEN
    PERFORM pg_notify('gateway_cache', prefix || old_id);
  END IF;
  IF new_id IS NOT NULL AND new_id IS DISTINCT FROM old_id THEN
    PERFORM pg_notify('gateway_cache', prefix || new_id);
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
