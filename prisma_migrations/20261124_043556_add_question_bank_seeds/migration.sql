-- CreateTable
CREATE TABLE "question_bank_seeds" (
    "id" SERIAL NOT NULL,
    "file_name" TEXT NOT NULL,
    "file_sha256" CHAR(64) NOT NULL,
    "validator" CHAR(64) NOT NULL,
    "questions_digest" CHAR(64) NOT NULL,
    "questions" INTEGER NOT NULL,
    "created" INTEGER NOT NULL,
    "updated" INTEGER NOT NULL,
    "deactivated" INTEGER NOT NULL,
    "seeded_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "question_bank_seeds_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "question_bank_seeds_file_sha256_idx" ON "question_bank_seeds"("file_sha256");
