//! Named SQL queries: the text comes from configuration, every value from the lookup's
//! arguments bound as parameters (`:account`), never pasted into the SQL. Queries must
//! be read-only; the first row answers the lookup.

use super::config::SqlSource;
use super::error::DataError;
use super::store::Store;
use crate::dialplan::LookupArg;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::collections::BTreeMap;

/// A checked query.
#[derive(Debug, Clone)]
pub struct SqlQuery {
    pub name: String,
    sql: String,
    digits_only: Vec<String>,
    /// Parameter names without their `:`/`@`/`$`, in position order.
    params: Vec<String>,
}

/// What a query found.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAnswer {
    Row(BTreeMap<String, String>),
    NoRow,
    /// The query needs an argument the lookup did not pass.
    MissingArg(String),
}

impl SqlQuery {
    /// Checks the query against the database: it must compile, be one read-only statement
    /// and use only named parameters.
    pub fn prepare(name: &str, source: &SqlSource, store: &Store) -> Result<SqlQuery, DataError> {
        let bad = |message: String| DataError::Source {
            source_name: name.to_string(),
            message,
        };
        let tail = source.query.trim().trim_end_matches(';');
        if tail.contains(';') {
            return Err(bad("one statement per query".into()));
        }
        let params = store
            .with(|conn| {
                let stmt = conn.prepare(&source.query)?;
                Ok((
                    stmt.readonly(),
                    (1..=stmt.parameter_count())
                        .map(|i| stmt.parameter_name(i).map(str::to_string))
                        .collect::<Vec<_>>(),
                ))
            })
            .map_err(|e| bad(format!("the query does not compile: {e}")))?;
        let (readonly, names) = params;
        if !readonly {
            return Err(bad(
                "queries must only read (SELECT); this one writes".into()
            ));
        }
        let params = names
            .into_iter()
            .map(|n| {
                n.map(|n| n[1..].to_string())
                    .ok_or_else(|| bad("use named parameters like `:account`, not `?`".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqlQuery {
            name: name.to_string(),
            sql: source.query.clone(),
            digits_only: source.digits_only.clone(),
            params,
        })
    }

    /// Runs the query with `args` bound by name.
    pub fn run(&self, conn: &Connection, args: &[LookupArg]) -> rusqlite::Result<QueryAnswer> {
        let mut stmt = conn.prepare_cached(&self.sql)?;
        for (i, param) in self.params.iter().enumerate() {
            let Some(arg) = args.iter().find(|a| &a.name == param) else {
                return Ok(QueryAnswer::MissingArg(param.clone()));
            };
            let value = if self.digits_only.contains(param) {
                arg.value.chars().filter(char::is_ascii_digit).collect()
            } else {
                arg.value.clone()
            };
            stmt.raw_bind_parameter(i + 1, value)?;
        }
        let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let mut rows = stmt.raw_query();
        let Some(row) = rows.next()? else {
            return Ok(QueryAnswer::NoRow);
        };
        let mut fields = BTreeMap::new();
        for (i, column) in columns.iter().enumerate() {
            let text = match row.get_ref(i)? {
                ValueRef::Null | ValueRef::Blob(_) => continue,
                ValueRef::Integer(n) => n.to_string(),
                ValueRef::Real(x) => x.to_string(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            };
            fields.insert(column.clone(), text);
        }
        Ok(QueryAnswer::Row(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Duration::from_millis(100)).unwrap();
        store
            .with(|c| {
                c.execute(
                    "INSERT INTO customers (name, phone) VALUES ('Ann', '15551230001')",
                    [],
                )
            })
            .unwrap();
        (dir, store)
    }

    fn arg(name: &str, value: &str) -> LookupArg {
        LookupArg {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    fn source(query: &str) -> SqlSource {
        SqlSource {
            query: query.into(),
            digits_only: vec![],
        }
    }

    #[test]
    fn binds_by_name_and_reads_the_first_row() {
        let (_dir, store) = store();
        let q = SqlQuery::prepare(
            "by_phone",
            &SqlSource {
                query: "SELECT name, id, NULL AS absent FROM customers WHERE phone = :phone".into(),
                digits_only: vec!["phone".into()],
            },
            &store,
        )
        .unwrap();
        let answer = store
            .with(|c| q.run(c, &[arg("phone", "sip:+1 (555) 123-0001@example")]))
            .unwrap();
        let QueryAnswer::Row(fields) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(fields["name"], "Ann");
        assert_eq!(fields["id"], "1");
        assert!(!fields.contains_key("absent"));
        assert_eq!(
            store.with(|c| q.run(c, &[arg("phone", "1")])).unwrap(),
            QueryAnswer::NoRow
        );
        assert_eq!(
            store.with(|c| q.run(c, &[])).unwrap(),
            QueryAnswer::MissingArg("phone".into())
        );
    }

    #[test]
    fn sql_looking_input_is_only_ever_a_value() {
        let (_dir, store) = store();
        let q = SqlQuery::prepare(
            "by_name",
            &source("SELECT id FROM customers WHERE name = :name"),
            &store,
        )
        .unwrap();
        for evil in [
            "' OR '1'='1",
            "Ann'; DROP TABLE customers; --",
            "Ann\" OR 1=1 --",
        ] {
            assert_eq!(
                store.with(|c| q.run(c, &[arg("name", evil)])).unwrap(),
                QueryAnswer::NoRow,
                "{evil}"
            );
        }
        let n: i64 = store
            .with(|c| c.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn writing_multi_statement_positional_and_broken_queries_are_refused() {
        let (_dir, store) = store();
        for (query, expected) in [
            ("DELETE FROM customers WHERE id = :id", "only read"),
            ("SELECT 1; SELECT 2", "one statement"),
            (
                "SELECT name FROM customers WHERE id = ?",
                "named parameters",
            ),
            ("SELECT nope FROM nowhere", "does not compile"),
        ] {
            let err = SqlQuery::prepare("q", &source(query), &store)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected) && err.contains("`q`"),
                "{query}: {err}"
            );
        }
    }
}
