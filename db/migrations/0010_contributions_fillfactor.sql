-- Room on each heap page for the scoring and dedupe passes' new row versions, so both updates are
-- HOT (heap-only: neither changes an indexed column) instead of adding an entry to each of the three
-- indexes per record per pass. A stored row is ~410 bytes and ~620 once scored: at fillfactor 35 a
-- page takes 6 rows at ingest, which leaves room for their scored versions and, once the dead ones
-- are pruned, for the dedupe pass's. Applies to pages written from now on.
ALTER TABLE "contributions" SET (fillfactor = 35);
