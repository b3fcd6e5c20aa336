-- CreateTable
CREATE TABLE "events" (
    "id" BIGSERIAL NOT NULL,
    "customer_id" INTEGER NOT NULL,
    "customer_uuid" UUID NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "subject" VARCHAR(128),
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_key_id" VARCHAR(32),
    "actor_kind" VARCHAR(16) NOT NULL,
    "request_id" VARCHAR(128),
    "changes" JSONB NOT NULL,

    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "event_horizon" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "pruned_through" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "event_horizon_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "events_customer_id_id_idx" ON "events"("customer_id", "id");

-- CreateIndex
CREATE INDEX "events_at_idx" ON "events"("at");

-- The horizon row exists from the start, so pruning only ever updates it.
INSERT INTO "event_horizon" ("id", "pruned_through") VALUES (1, 0);

-- Tells every running service that a customer has new events ("<customer id>:<event id>"), delivered
-- at commit; each open stream of that customer then reads the log after the last id it sent, so a
-- notification lost while a listener reconnects costs nothing but time. (Written by hand: the Prisma
-- schema does not describe triggers.)
CREATE OR REPLACE FUNCTION gateway_notify_event() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('gateway_events', NEW.customer_id || ':' || NEW.id);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_notify
  AFTER INSERT ON "events"
  FOR EACH ROW EXECUTE FUNCTION gateway_notify_event();
