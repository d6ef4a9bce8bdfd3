-- Rotated refresh tokens now stay until their family ends, so that a replay of any of them is
-- recognised for as long as the chain lives; no statement looks them up by rotation time any more,
-- and the index only cost a page write per refresh.
DROP INDEX refresh_tokens_rotated;
