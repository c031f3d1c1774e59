-- Agent tokens bind member names: a token may speak only for the members listed here.
-- Tokens issued before this migration get an empty list and are refused until re-issued
-- (fail closed: a per-cluster token could speak for every member of its cluster).
ALTER TABLE "agent_tokens" ADD COLUMN "members" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
