-- P3: N3's confirm takes every never-emailed user out of the pending count
-- without moving any of them to another cell of `user_counts`. The one
-- update trigger ran two statements a row for both kinds of change (take
-- the row out of its old cell, put it in its new one): at 30,000 users
-- that was a third of the confirm's users UPDATE (issue 12). Now a row
-- that moves runs those two, and a row that stays in its cell and only
-- enters or leaves N3 runs one. `active` is part of the cell, so every
-- change of it is a move.
DROP TRIGGER user_counts_update; -- only in this dialect

CREATE TRIGGER user_counts_move AFTER UPDATE OF side, firm_id, office_id, role, active ON users
WHEN OLD.side IS NOT NEW.side OR OLD.firm_id IS NOT NEW.firm_id OR OLD.office_id IS NOT NEW.office_id OR OLD.role IS NOT NEW.role
    OR OLD.active IS NOT NEW.active
BEGIN
    UPDATE user_counts SET n = n - 1,
        pending = pending - (OLD.new_user_email_sent_at IS NULL AND OLD.active AND OLD.activated_at IS NULL AND OLD.new_user_email_status IN ('held', 'failed'))
    WHERE side = OLD.side AND firm_id = COALESCE(OLD.firm_id, '') AND office_id = COALESCE(OLD.office_id, '') AND role = OLD.role AND active = OLD.active;
    INSERT INTO user_counts (side, firm_id, office_id, role, active, n, pending)
    VALUES (NEW.side, COALESCE(NEW.firm_id, ''), COALESCE(NEW.office_id, ''), NEW.role, NEW.active, 1,
            NEW.new_user_email_sent_at IS NULL AND NEW.active AND NEW.activated_at IS NULL AND NEW.new_user_email_status IN ('held', 'failed'))
    ON CONFLICT (side, firm_id, office_id, role, active) DO UPDATE SET n = n + excluded.n, pending = pending + excluded.pending;
END;

CREATE TRIGGER user_counts_pending AFTER UPDATE OF activated_at, new_user_email_sent_at, new_user_email_status ON users
WHEN OLD.side IS NEW.side AND OLD.firm_id IS NEW.firm_id AND OLD.office_id IS NEW.office_id AND OLD.role IS NEW.role
    AND OLD.active IS NEW.active
    AND (OLD.new_user_email_sent_at IS NULL AND OLD.active AND OLD.activated_at IS NULL AND OLD.new_user_email_status IN ('held', 'failed'))
        IS NOT (NEW.new_user_email_sent_at IS NULL AND NEW.active AND NEW.activated_at IS NULL AND NEW.new_user_email_status IN ('held', 'failed'))
BEGIN
    UPDATE user_counts
    SET pending = pending
        + (NEW.new_user_email_sent_at IS NULL AND NEW.active AND NEW.activated_at IS NULL AND NEW.new_user_email_status IN ('held', 'failed'))
        - (OLD.new_user_email_sent_at IS NULL AND OLD.active AND OLD.activated_at IS NULL AND OLD.new_user_email_status IN ('held', 'failed'))
    WHERE side = NEW.side AND firm_id = COALESCE(NEW.firm_id, '') AND office_id = COALESCE(NEW.office_id, '') AND role = NEW.role AND active = NEW.active;
END;
