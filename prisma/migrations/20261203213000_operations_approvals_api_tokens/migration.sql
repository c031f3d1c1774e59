-- Roles per cluster, disabled users, API tokens, cluster policies, operations and approvals, audit
-- columns (channel, address, cluster, outcome) and signed audit digests (append-only like the log).
-- CreateEnum
CREATE TYPE "OperationStatus" AS ENUM ('awaiting_approval', 'running', 'succeeded', 'failed', 'rejected', 'cancelled');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "disabled_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "audit_log" ADD COLUMN     "address" TEXT,
ADD COLUMN     "channel" TEXT,
ADD COLUMN     "cluster" TEXT,
ADD COLUMN     "outcome" TEXT;

-- CreateTable
CREATE TABLE "audit_digests" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_id" BIGINT NOT NULL,
    "last_hash" TEXT NOT NULL,
    "entries" BIGINT NOT NULL,
    "prev_signature" TEXT NOT NULL,
    "signature" TEXT NOT NULL,

    CONSTRAINT "audit_digests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "role_grants" (
    "user_id" TEXT NOT NULL,
    "cluster_id" UUID NOT NULL,
    "role" "Role" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "role_grants_pkey" PRIMARY KEY ("user_id","cluster_id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "label" TEXT NOT NULL DEFAULT '',
    "role" "Role" NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "last_used_from" TEXT,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cluster_policies" (
    "cluster_id" UUID NOT NULL,
    "rules" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" TEXT NOT NULL,

    CONSTRAINT "cluster_policies_pkey" PRIMARY KEY ("cluster_id")
);

-- CreateTable
CREATE TABLE "operations" (
    "id" UUID NOT NULL,
    "cluster_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "reason" TEXT NOT NULL,
    "ticket" TEXT,
    "status" "OperationStatus" NOT NULL,
    "required_approvals" INTEGER NOT NULL,
    "requested_by_id" TEXT NOT NULL,
    "requested_by" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "state_at_request" JSONB NOT NULL,
    "break_glass" BOOLEAN NOT NULL DEFAULT false,
    "reviewed_by" TEXT,
    "reviewed_at" TIMESTAMPTZ(3),
    "review_note" TEXT,
    "closed_by" TEXT,
    "closed_reason" TEXT,
    "progress" JSONB NOT NULL DEFAULT '[]',
    "result" JSONB,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "operations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "approvals" (
    "id" UUID NOT NULL,
    "operation_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "approver" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "params_hash" TEXT NOT NULL,
    "state" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "voided_at" TIMESTAMPTZ(3),
    "void_reason" TEXT,

    CONSTRAINT "approvals_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_digests_signature_key" ON "audit_digests"("signature");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_prefix_key" ON "api_tokens"("prefix");

-- CreateIndex
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens"("user_id");

-- CreateIndex
CREATE INDEX "operations_cluster_id_created_at_idx" ON "operations"("cluster_id", "created_at");

-- CreateIndex
CREATE INDEX "operations_status_idx" ON "operations"("status");

-- CreateIndex
CREATE UNIQUE INDEX "approvals_operation_id_user_id_key" ON "approvals"("operation_id", "user_id");

-- CreateIndex
CREATE INDEX "audit_log_cluster_at_idx" ON "audit_log"("cluster", "at");

-- CreateIndex
CREATE INDEX "audit_log_actor_at_idx" ON "audit_log"("actor", "at");

-- CreateIndex
CREATE INDEX "audit_log_action_at_idx" ON "audit_log"("action", "at");

-- AddForeignKey
ALTER TABLE "role_grants" ADD CONSTRAINT "role_grants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "role_grants" ADD CONSTRAINT "role_grants_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cluster_policies" ADD CONSTRAINT "cluster_policies_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "operations" ADD CONSTRAINT "operations_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_operation_id_fkey" FOREIGN KEY ("operation_id") REFERENCES "operations"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Signed digests are append-only too (the same refusal as the audit log).
CREATE FUNCTION "audit_digests_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_digests is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege', HINT = 'digests can only be added';
END;
$$;

CREATE TRIGGER "audit_digests_no_update_delete"
  BEFORE UPDATE OR DELETE ON "audit_digests"
  FOR EACH ROW EXECUTE FUNCTION "audit_digests_append_only"();

CREATE TRIGGER "audit_digests_no_truncate"
  BEFORE TRUNCATE ON "audit_digests"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_digests_append_only"();
