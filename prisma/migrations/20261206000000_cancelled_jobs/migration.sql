-- A job an operator cancelled ends where a failed one does: as a dead letter, waiting for a person
-- to re-run or discard it, and skipped by the reconciler like any dead letter. `kind` tells the two
-- apart, so the admin shows it as cancelled and the alert loop does not page for it.
ALTER TABLE "dead_letters"
    ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'failed',
    ADD CONSTRAINT "dead_letters_kind_check" CHECK ("kind" IN ('failed', 'cancelled'));
