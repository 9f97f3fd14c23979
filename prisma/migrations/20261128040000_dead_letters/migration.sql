-- CreateTable
CREATE TABLE "dead_letters" (
    "id" BIGSERIAL NOT NULL,
    "queue" TEXT NOT NULL,
    "job_name" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "options" JSONB NOT NULL,
    "attempts_made" INTEGER NOT NULL,
    "attempt_errors" JSONB NOT NULL,
    "last_error" TEXT NOT NULL,
    "stack_trace" TEXT,
    "first_failed_at" TIMESTAMPTZ(3) NOT NULL,
    "failed_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "alerted_at" TIMESTAMPTZ(3),
    "resolution" TEXT,
    "resolved_at" TIMESTAMPTZ(3),
    "resolved_by" TEXT,
    "resolution_note" TEXT,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dead_letter_actions" (
    "id" BIGSERIAL NOT NULL,
    "action" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "queue" TEXT,
    "dead_letter_ids" JSONB NOT NULL,
    "count" INTEGER NOT NULL,
    "note" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dead_letter_actions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "dead_letters_queue_resolved_at_id_idx" ON "dead_letters"("queue", "resolved_at", "id");

-- CreateIndex
CREATE INDEX "dead_letters_alerted_at_id_idx" ON "dead_letters"("alerted_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "dead_letters_job_id_failed_at_key" ON "dead_letters"("job_id", "failed_at");
