-- Capability links kept as hashes, with lifetimes (lib/access-tokens.ts). The tokens that were
-- stored in plaintext on users move here as their SHA-256, so links already sent keep working
-- until they expire, and the plaintext columns go.

-- CreateTable
CREATE TABLE "access_tokens" (
    "token_hash" BYTEA NOT NULL,
    "user_id" UUID NOT NULL,
    "purpose" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "consumed_at" TIMESTAMPTZ(3),

    CONSTRAINT "access_tokens_pkey" PRIMARY KEY ("token_hash"),
    CONSTRAINT "access_tokens_purpose_check" CHECK ("purpose" IN ('status', 'verify'))
);

-- CreateIndex
CREATE INDEX "access_tokens_user_id_idx" ON "access_tokens"("user_id");

-- CreateIndex
CREATE INDEX "access_tokens_expires_at_idx" ON "access_tokens"("expires_at");

-- AddForeignKey
ALTER TABLE "access_tokens" ADD CONSTRAINT "access_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Links already sent: status pages live another 7 days, unused verification links another 2.
INSERT INTO "access_tokens" ("token_hash", "user_id", "purpose", "expires_at")
SELECT sha256(convert_to("status_token", 'UTF8')), "id", 'status', CURRENT_TIMESTAMP + interval '7 days' FROM "users";

INSERT INTO "access_tokens" ("token_hash", "user_id", "purpose", "expires_at", "consumed_at")
SELECT sha256(convert_to("verify_token", 'UTF8')), "id", 'verify', CURRENT_TIMESTAMP + interval '2 days', "email_verified_at"
  FROM "users";

-- AlterTable
ALTER TABLE "users" DROP COLUMN "status_token",
DROP COLUMN "verify_token",
ADD COLUMN "link_requests" INTEGER NOT NULL DEFAULT 0;
