-- CreateIndex
CREATE INDEX "magic_link_tokens_user_id_idx" ON "magic_link_tokens"("user_id");

-- CreateIndex
CREATE INDEX "magic_link_tokens_expires_at_idx" ON "magic_link_tokens"("expires_at");

-- CreateIndex
CREATE INDEX "question_attempts_user_id_answered_at_idx" ON "question_attempts"("user_id", "answered_at" DESC);

-- CreateIndex
CREATE INDEX "question_attempts_question_id_is_correct_idx" ON "question_attempts"("question_id", "is_correct");

-- CreateIndex
CREATE INDEX "question_attempts_selected_option_id_idx" ON "question_attempts"("selected_option_id");

-- CreateIndex
CREATE INDEX "questions_domain_active_idx" ON "questions"("domain", "active");
