//! The sources the acme-bank dialplan uses, provided on the embedded database when no
//! configuration says otherwise (`[data] builtin_sources = true`, the default).

use super::config::{SourceConfig, SqlSource, VerifyPinSource};

const ACCOUNT_AND_NAME: &str = "SELECT a.number AS account, c.name AS name, c.tier AS tier
    FROM accounts a JOIN customers c ON c.id = a.customer_id";

/// `(name, source)` of every built-in source.
pub fn builtin_sources() -> Vec<(String, SourceConfig)> {
    let sql = |query: String, digits: &str| {
        SourceConfig::Sql(SqlSource {
            query,
            digits_only: vec![digits.to_string()],
        })
    };
    vec![
        (
            "accounts_by_phone".into(),
            // Caller ids arrive in many shapes (`+1555...`, `sip:1555...@host`): digits only,
            // compared on the last ten.
            sql(
                format!(
                    "{ACCOUNT_AND_NAME} WHERE length(:phone) >= 7 AND c.phone IS NOT NULL
                     AND substr(c.phone, -10) = substr(:phone, -10) ORDER BY a.number LIMIT 1"
                ),
                "phone",
            ),
        ),
        (
            "accounts_by_number".into(),
            sql(
                format!("{ACCOUNT_AND_NAME} WHERE a.number = :account"),
                "account",
            ),
        ),
        (
            "verify_pin".into(),
            SourceConfig::VerifyPin(VerifyPinSource::default()),
        ),
        (
            "balance".into(),
            sql(
                "SELECT printf('%s%d.%02d', CASE WHEN balance_cents < 0 THEN '-' ELSE '' END,
                        abs(balance_cents) / 100, abs(balance_cents) % 100) AS available, kind
                 FROM accounts WHERE number = :account"
                    .into(),
                "account",
            ),
        ),
    ]
}
