-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "customers" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3);

-- Deleting a key or a customer is setting deleted_at: the change feed must carry it like a
-- revocation, so every running service drops its cached verification at once. (Written by hand:
-- the Prisma schema does not describe triggers.)
DROP TRIGGER IF EXISTS api_keys_auth_change ON "api_keys";
CREATE TRIGGER api_keys_auth_change
  AFTER UPDATE OF active, type, customer_id, secret_hash, deleted_at OR DELETE ON "api_keys"
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_auth_change();

DROP TRIGGER IF EXISTS customers_auth_change ON "customers";
CREATE TRIGGER customers_auth_change
  AFTER UPDATE OF active, deleted_at OR DELETE ON "customers"
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_auth_change();
