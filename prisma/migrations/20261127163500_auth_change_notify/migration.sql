-- Tells every running service that an API key or the `active` flag of a customer changed, so caches of
-- verified keys are dropped at once, whoever made the change (a service, the CLI, plain SQL).
-- The Prisma schema does not describe triggers: this migration is written by hand.
CREATE OR REPLACE FUNCTION gateway_notify_auth_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('gateway_auth', TG_TABLE_NAME);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_keys_auth_change
  AFTER UPDATE OF active, type, customer_id, secret_hash OR DELETE ON "api_keys"
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_auth_change();

CREATE TRIGGER customers_auth_change
  AFTER UPDATE OF active OR DELETE ON "customers"
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_auth_change();
