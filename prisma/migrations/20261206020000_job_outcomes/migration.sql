-- Jobs that ran and, on purpose, did nothing (docs/failure-model.md#lost-jobs-the-reconciler): an
-- invitation to an address that already has an account, a resend after the address is verified.
-- Such a job records no effect row, so this row is what tells the reconciler it is done once BullMQ
-- has trimmed the completed job. One row per job id, written by workers/runtime/job-outcomes.ts.
CREATE TABLE "job_outcomes" (
    "job_id" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "job_name" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    -- A fixed string from the handler ('address already verified'), never personal data.
    "reason" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_outcomes_pkey" PRIMARY KEY ("job_id"),
    CONSTRAINT "job_outcomes_outcome_check" CHECK ("outcome" IN ('skipped'))
);

-- The retention sweep deletes rows past the reconciler's lookback, oldest first.
CREATE INDEX "job_outcomes_recorded_at_idx" ON "job_outcomes"("recorded_at");
