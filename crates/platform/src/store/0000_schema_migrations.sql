-- Core: nothing but the migrations table itself, which `migrations::apply` creates.
-- Kept as a file so the list is never empty and the mechanism is exercised.
SELECT 1;
