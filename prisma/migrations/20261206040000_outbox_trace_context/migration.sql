-- The W3C trace context of the request that wrote each outbox row (docs/architecture.md#one-trace-per-signup):
-- JSON of its traceparent and, when present, its tracestate, the format BullMQ keeps in a job. The relay
-- and the reconciler continue that trace when they send the row's job. Null when nothing was traced.
ALTER TABLE "outbox_messages" ADD COLUMN "trace_context" TEXT;
