-- AlterTable
ALTER TABLE "users" ADD COLUMN "verification_resent_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "outbox_messages" ADD COLUMN "tenant" TEXT,
ADD COLUMN "available_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "invitations" (
    "id" UUID NOT NULL,
    "workspace" TEXT NOT NULL,
    "email" CITEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invitations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sent_emails" (
    "id" BIGSERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "message_id" TEXT NOT NULL,
    "user_id" UUID,
    "invitation_id" UUID,
    "sent_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sent_emails_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "outbox_messages_dispatched_at_available_at_idx" ON "outbox_messages"("dispatched_at", "available_at");

-- CreateIndex
CREATE UNIQUE INDEX "invitations_workspace_email_key" ON "invitations"("workspace", "email");

-- CreateIndex
CREATE UNIQUE INDEX "sent_emails_job_id_key" ON "sent_emails"("job_id");

-- CreateIndex
CREATE UNIQUE INDEX "sent_emails_message_id_key" ON "sent_emails"("message_id");

-- CreateIndex
CREATE INDEX "sent_emails_user_id_idx" ON "sent_emails"("user_id");

-- CreateIndex
CREATE INDEX "sent_emails_invitation_id_idx" ON "sent_emails"("invitation_id");

-- AddForeignKey
ALTER TABLE "sent_emails" ADD CONSTRAINT "sent_emails_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sent_emails" ADD CONSTRAINT "sent_emails_invitation_id_fkey" FOREIGN KEY ("invitation_id") REFERENCES "invitations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
