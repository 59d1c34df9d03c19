-- Nothing to undo: the backfill only filled missing values. Kept so every migration has its rollback.
SELECT 1;
