"""The risk rules, one registry: review and revert warn with them, lint-migrations asks for a `-- breaking:` note
where one is destructive. A new rule is a `@rule` function in one of these modules, listed in RULES."""

from __future__ import annotations

from acams_db.sql.parsing import ParsedSql
from acams_db.sql.relations import created_relation
from acams_db.sql.risks import Hit, Risk, Rule, Scope
from acams_db.sql.rules import columns, deletes, drops, locks, renames, uniqueness
from acams_db.sql.severity import Severity

# Found by the parser, not in a statement: SQL that cannot be read, or that exists only at run time.
SQL_SYNTAX = Rule("sql-syntax", Severity.DANGER, destructive=False, holds_lock=False, check=None)
DYNAMIC_SQL = Rule("dynamic-sql", Severity.WARNING, destructive=False, holds_lock=False, check=None)
DYNAMIC_SQL_MESSAGE = (
    "runs SQL that exists only at run time (EXECUTE, or a DO block in another language): it cannot be checked; "
    "review it by hand"
)

# In this order when one part of a statement breaks several rules (an added column: no default, then the rewrite).
RULES: tuple[Rule, ...] = (
    drops.drop_table,
    drops.drop_type,
    drops.drop_index,
    drops.drop_object,
    drops.drop_column,
    columns.type_change,
    columns.not_null_without_default,
    columns.set_not_null,
    uniqueness.unique_constraint,
    locks.index_without_concurrently,
    locks.long_lock,
    renames.rename,
    deletes.delete_all_rows,
    deletes.delete_rows,
    SQL_SYNTAX,
    DYNAMIC_SQL,
)
# Rules whose statements hold locks for as long as they scan or rewrite a table.
LONG_LOCK_RULES = frozenset(rule.id for rule in RULES if rule.holds_lock)


def find_risks(parsed: ParsedSql, new_tables: set[str] | frozenset[str] = frozenset()) -> list[Risk]:
    """Statements a reviewer must look at, in order. Tables in `new_tables` (created by earlier pending
    migrations) or created earlier in this SQL have no rows yet, so locks and row checks do not apply to them."""
    scope = Scope(set(new_tables))
    risks: list[Risk] = []
    for statement in parsed.statements:
        found: list[tuple[int, int, Rule, Hit]] = [
            (hit.part, order, rule, hit)
            for order, rule in enumerate(RULES)
            if rule.check is not None
            for hit in rule.check(statement.node, scope)
        ]
        risks += [rule.risk(statement.line, hit) for _, _, rule, hit in sorted(found, key=lambda f: f[:2])]
        created = created_relation(statement.node)
        if created is not None:
            scope.new_tables.add(created.name)
    risks += [DYNAMIC_SQL.risk(line, Hit(DYNAMIC_SQL_MESSAGE)) for line in parsed.opaque_lines]
    return sorted(risks, key=lambda risk: risk.line)
