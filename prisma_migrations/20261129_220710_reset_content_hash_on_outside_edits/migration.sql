-- A question edited by other means than the seed (Prisma Studio, SQL) loses its content hash, and so does a
-- question whose options are: the next seed then finds it changed and writes the file's version again. The
-- seed marks its own transaction with set_config('acams.seeding', 'on', true), which these triggers skip.
-- A hash of dashes is never a SHA-256, and keeps the column's 64 characters. Content is every column but the
-- bookkeeping ones, none of them named: later migrations may add, rename or drop columns as before.

CREATE FUNCTION questions_forget_content_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR to_jsonb(NEW) - '{active,content_hash,created_at,updated_at}'::text[]
                         IS DISTINCT FROM to_jsonb(OLD) - '{active,content_hash,created_at,updated_at}'::text[] THEN
    NEW.content_hash := repeat('-', 64);
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER questions_edited_outside_the_seed
  BEFORE INSERT OR UPDATE ON questions
  FOR EACH ROW WHEN (current_setting('acams.seeding', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION questions_forget_content_hash();

CREATE FUNCTION answer_options_forget_question_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- OLD is null for an insert, NEW for a delete.
  UPDATE questions SET content_hash = repeat('-', 64)
   WHERE id IN (OLD.question_id, NEW.question_id) AND content_hash <> repeat('-', 64);
  RETURN NULL;
END
$$;

CREATE TRIGGER answer_options_edited_outside_the_seed
  AFTER INSERT OR UPDATE OR DELETE ON answer_options
  FOR EACH ROW WHEN (current_setting('acams.seeding', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION answer_options_forget_question_hash();
