-- Users whose password an administrator set (reset): they must choose
-- their own at their next login before they may do anything else. The
-- row goes when they change it. A projection of `password_changed`
-- entries (`reset` true adds the row, false removes it).
CREATE TABLE password_resets (
    user_id      TEXT    PRIMARY KEY,
    reset_at_us  BIGINT  NOT NULL
);
