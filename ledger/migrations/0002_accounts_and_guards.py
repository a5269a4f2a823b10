"""The chart of accounts, and the database's own guards: ledger rows cannot be updated or
deleted, and every transaction's entries must sum to zero when it commits."""

from django.db import migrations

ACCOUNTS = [
    ("1000", "Holding account cash", "asset"),
    ("2000", "Funds held for cases", "liability"),
    ("2100", "Federal share payable (CMS-64.9A)", "liability"),
    ("2200", "Managed-care plan payable", "liability"),
    ("2300", "Refunds payable", "liability"),
    ("4000", "Program recovery – state share", "revenue"),
]

POSTGRES_GUARDS = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: post a reversing transaction instead'
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transaction_immutable BEFORE UPDATE OR DELETE ON ledger_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger AS $$
DECLARE
    total numeric;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total FROM ledger_entry WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (entries sum to %)', NEW.transaction_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Checked when the transaction commits, once every entry of it is in.
CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_transaction_immutable ON ledger_transaction;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_check_balanced();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""

SQLITE_GUARDS = [
    f"CREATE TRIGGER ledger_{table}_no_{verb} BEFORE {verb.upper()} ON ledger_{table} "
    f"BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable: post a reversing transaction instead'); END"
    for table in ("entry", "transaction")
    for verb in ("update", "delete")
]


def create_accounts(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    for code, name, kind in ACCOUNTS:
        Account.objects.get_or_create(code=code, defaults={"name": name, "type": kind})


def add_guards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARDS, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_GUARDS:
            schema_editor.execute(statement)


def drop_guards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        for table in ("entry", "transaction"):
            for verb in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS ledger_{table}_no_{verb}")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunPython(create_accounts, migrations.RunPython.noop),
        migrations.RunPython(add_guards, drop_guards),
    ]
