-- A question edited by other means than the seed (Prisma Studio, SQL) loses its content hash, and so does a
-- question whose options are: the next seed then finds it changed and writes the file's version again. The
-- seed marks its own transaction with set_config('acams.seeding', 'on', true), which these triggers skip.
-- A hash of dashes is never a SHA-256, and keeps the column's 64 characters.

CREATE FUNCTION questions_forget_content_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.content_hash := repeat('-', 64);
  RETURN NEW;
END
$$;

CREATE TRIGGER questions_edited_outside_the_seed
  BEFORE INSERT OR UPDATE OF id, domain, topic, stem, explanation, difficulty, tags, reference, content_hash
  ON questions
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
