-- Asynchronous invocations: who holds a claim, so that only the holder renews it (leases
-- are short and renewed while an invocation runs).
ALTER TABLE function_async_queue ADD COLUMN claimed_by TEXT;
