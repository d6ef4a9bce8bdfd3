-- Password attempts per throttle key (an account or a client address), one row each, changed by
-- compare-and-set so that concurrent guesses are admitted one by one (src/domain/throttle.rs).
-- Replaces login_failures, whose count-then-check let simultaneous guesses all through.
CREATE TABLE sign_in_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_attempt_at BIGINT NOT NULL
);
CREATE INDEX sign_in_throttle_last_attempt ON sign_in_throttle (last_attempt_at);

DROP TABLE login_failures;
