-- CreateIndex
CREATE INDEX "customers_live_id_idx" ON "customers"("id") WHERE (deleted_at IS NULL);
