"""Database toolchain of the ACAMS Learning System: migrations, client generation and seed on Prisma."""
