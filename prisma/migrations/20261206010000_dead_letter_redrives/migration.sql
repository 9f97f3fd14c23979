-- Dead-letter work at scale (docs/failure-model.md#dead-letters): each dead letter's failure
-- fingerprint, the redrives that replay everything a filter matches in paced batches, and the
-- alert state per fingerprint that makes one outage one alert.

-- queue + error class + normalised message, hashed (lib/failure-fingerprint.ts). Written by the
-- recorder at insert, or by the alert loop for rows written without one; null on rows from before.
ALTER TABLE "dead_letters" ADD COLUMN "fingerprint" TEXT;

-- CreateIndex
CREATE INDEX "dead_letters_fingerprint_id_idx" ON "dead_letters"("fingerprint", "id");

-- A filtered bulk replay, run in batches by the workers (workers/maintenance/dead-letter-redrive.ts).
-- It covers the unresolved letters that matched when it started (id <= last_id); pausing and
-- cancelling are conditional updates of `status`, so any web replica can do either.
CREATE TABLE "dead_letter_redrives" (
    "id" BIGSERIAL NOT NULL,
    "filter" JSONB NOT NULL,
    "status" TEXT NOT NULL,
    "total" INTEGER NOT NULL,
    "replayed" INTEGER NOT NULL DEFAULT 0,
    "last_id" BIGINT NOT NULL,
    "per_second" DOUBLE PRECISION NOT NULL,
    "started_by" TEXT NOT NULL,
    "changed_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_batch_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "dead_letter_redrives_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "dead_letter_redrives_status_check" CHECK ("status" IN ('running', 'paused', 'cancelled', 'done')),
    CONSTRAINT "dead_letter_redrives_per_second_check" CHECK ("per_second" > 0)
);

-- CreateIndex
CREATE INDEX "dead_letter_redrives_status_next_batch_at_idx" ON "dead_letter_redrives"("status", "next_batch_at");

-- One row per failure fingerprint the alert loop has seen: when its current incident opened, when
-- a letter with it was last seen and last announced, how many since it opened, and how many of
-- those no alert has mentioned yet.
CREATE TABLE "dead_letter_alert_groups" (
    "fingerprint" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "error_class" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "notified_at" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL,
    "unannounced" INTEGER NOT NULL,

    CONSTRAINT "dead_letter_alert_groups_pkey" PRIMARY KEY ("fingerprint")
);
