-- Tells every running service which customer's cached reads a change touched (src/customers/read-cache.ts),
-- whoever made it (a service, the CLI, plain SQL); delivered at commit. Payloads on `gateway_cache`:
--   "<customer id>"               the customer row or its settings changed: drop the customer;
--   "k:<customer id>"             one of its API keys changed: drop its key list;
--   "a:<customer id>:<epoch ms>"  only last_activity moved (the activity flush): update it in place;
--   "u:<customer id>:<key id>:<epoch ms>"  only a key's last_used_at moved (the same): likewise;
--   "*"                           a table was truncated: drop everything.
-- (Written by hand: the Prisma schema does not describe triggers. `sync:<nonce>` payloads are sent
-- by the services themselves.)
CREATE OR REPLACE FUNCTION gateway_notify_cache() RETURNS trigger AS $$
DECLARE
  old_id integer;
  new_id integer;
  prefix text := '';
BEGIN
  IF TG_TABLE_NAME = 'customers' THEN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
      IF to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NULL;
      END IF;
      IF NEW.last_activity IS NOT NULL
         AND to_jsonb(NEW) - 'last_activity' = to_jsonb(OLD) - 'last_activity' THEN
        PERFORM pg_notify('gateway_cache',
          'a:' || NEW.id || ':' || round(extract(epoch FROM NEW.last_activity) * 1000)::bigint);
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
         AND to_jsonb(NEW) - 'last_used_at' = to_jsonb(OLD) - 'last_used_at' THEN
        IF to_jsonb(NEW) <> to_jsonb(OLD) THEN
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

-- No INSERT on customers: a new customer cannot be cached anywhere yet (nothing negative is cached),
-- and a bulk load of customers then sends no notifications.
CREATE TRIGGER customers_cache_notify
  AFTER UPDATE OR DELETE ON "customers"
  FOR EACH ROW EXECUTE FUNCTION gateway_notify_cache();

CREATE TRIGGER settings_cache_notify
  AFTER INSERT OR UPDATE OR DELETE ON "settings"
  FOR EACH ROW EXECUTE FUNCTION gateway_notify_cache();

CREATE TRIGGER api_keys_cache_notify
  AFTER INSERT OR UPDATE OR DELETE ON "api_keys"
  FOR EACH ROW EXECUTE FUNCTION gateway_notify_cache();

-- TRUNCATE fires no row trigger: it empties every cache.
CREATE OR REPLACE FUNCTION gateway_notify_cache_truncate() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('gateway_cache', '*');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER customers_cache_truncate AFTER TRUNCATE ON "customers"
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_cache_truncate();
CREATE TRIGGER settings_cache_truncate AFTER TRUNCATE ON "settings"
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_cache_truncate();
CREATE TRIGGER api_keys_cache_truncate AFTER TRUNCATE ON "api_keys"
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_cache_truncate();
