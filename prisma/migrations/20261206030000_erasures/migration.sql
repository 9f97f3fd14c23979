-- What each erasure job did once its account was deleted (docs/failure-model.md#erasure): one row per
-- job id, the effect the reconciler and the status of the job are read from. No foreign key to users:
-- the user is gone by design. user_id is the pseudonymous id the providers knew the person by, kept
-- as the record that the person's data was erased there; it names no one once the account is gone.
CREATE TABLE "erasures" (
    "id" BIGSERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    -- The provider the job erased at: 'crm', 'analytics' or 'storage'.
    "provider" TEXT NOT NULL,
    "erased_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "erasures_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "erasures_job_id_key" ON "erasures"("job_id");

CREATE INDEX "erasures_user_id_idx" ON "erasures"("user_id");
