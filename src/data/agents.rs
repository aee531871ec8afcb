//! Agents in the embedded database: login, display name, role, skills with proficiency
//! 1-5, and their secrets: an argon2id hash of the password for the HTTP API and, for SIP
//! digest, HA1 in MD5 and SHA-256 for the configured realm (docs/agents.md says why HA1
//! and not the password). Blocking calls: async callers go through `Store::run`.

use super::error::DataError;
use super::pin::{hash_pin, pin_matches};
use super::store::Store;
use crate::sip::digest::DigestSecrets;
use rusqlite::{OptionalExtension, params};

/// What an agent may do on the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRole {
    Agent,
    Supervisor,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Agent => "agent",
            AgentRole::Supervisor => "supervisor",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "agent" => Some(AgentRole::Agent),
            "supervisor" => Some(AgentRole::Supervisor),
            _ => None,
        }
    }
}

/// An agent as listed (never with secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub login: String,
    pub display_name: String,
    pub role: AgentRole,
    pub enabled: bool,
    /// The realm the stored SIP secrets were made for.
    pub realm: String,
    /// (skill, proficiency 1-5), sorted by skill.
    pub skills: Vec<(String, u8)>,
}

/// Why an agent could not be added or changed (the caller's mistake, not the database's).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(
        "login `{0}` is not usable: 1 to 64 letters, digits, `.`, `_` or `-` (it is the SIP user name)"
    )]
    BadLogin(String),
    #[error("skill `{0}` is not usable: 1 to 64 letters, digits, `.`, `_` or `-`")]
    BadSkill(String),
    #[error("proficiency for `{skill}` must be 1 to 5, not {level}")]
    BadProficiency { skill: String, level: i64 },
    #[error("the password must be at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error("the display name must not be empty")]
    EmptyName,
    #[error("an agent `{0}` already exists")]
    Exists(String),
    #[error("no agent `{0}`")]
    Unknown(String),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

/// A new agent, before its secrets are derived.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub login: String,
    pub display_name: String,
    pub role: AgentRole,
    pub skills: Vec<(String, i64)>,
}

fn is_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Checks a login: the SIP user part, so no characters that need escaping.
pub fn check_login(login: &str) -> Result<(), AgentError> {
    if is_name(login) {
        Ok(())
    } else {
        Err(AgentError::BadLogin(login.to_string()))
    }
}

/// The stored secrets for a password.
struct Secrets {
    password_hash: String,
    sip: DigestSecrets,
}

fn derive(login: &str, realm: &str, password: &str) -> Result<Secrets, AgentError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AgentError::ShortPassword);
    }
    Ok(Secrets {
        password_hash: hash_pin(password)?,
        sip: DigestSecrets::derive(login, realm, password),
    })
}

/// Adds an agent with its skills; `realm` is `[registrar] realm`.
pub fn add(store: &Store, agent: &NewAgent, password: &str, realm: &str) -> Result<(), AgentError> {
    check_login(&agent.login)?;
    if agent.display_name.trim().is_empty() {
        return Err(AgentError::EmptyName);
    }
    for (skill, level) in &agent.skills {
        if !is_name(skill) {
            return Err(AgentError::BadSkill(skill.clone()));
        }
        if !(1..=5).contains(level) {
            return Err(AgentError::BadProficiency {
                skill: skill.clone(),
                level: *level,
            });
        }
    }
    // argon2 is slow on purpose: outside the transaction.
    let secrets = derive(&agent.login, realm, password)?;
    let now = chrono::Utc::now().timestamp();
    let added = store.with(|conn| {
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO agents (login, display_name, role, password_hash, realm, ha1_md5, ha1_sha256, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (login) DO NOTHING",
            params![
                agent.login,
                agent.display_name.trim(),
                agent.role.as_str(),
                secrets.password_hash,
                secrets.sip.realm,
                secrets.sip.ha1_md5,
                secrets.sip.ha1_sha256,
                now
            ],
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        let id = tx.last_insert_rowid();
        for (skill, level) in &agent.skills {
            tx.execute(
                "INSERT INTO agent_skills (agent_id, skill, proficiency) VALUES (?1, ?2, ?3)
                 ON CONFLICT (agent_id, skill) DO UPDATE SET proficiency = excluded.proficiency",
                params![id, skill, level],
            )?;
        }
        tx.commit()?;
        Ok(true)
    })?;
    if added {
        Ok(())
    } else {
        Err(AgentError::Exists(agent.login.clone()))
    }
}

/// Every agent, by login.
pub fn list(store: &Store) -> Result<Vec<AgentRecord>, AgentError> {
    store
        .with(|conn| {
            let mut agents = conn.prepare(
                "SELECT id, login, display_name, role, enabled, realm FROM agents ORDER BY login",
            )?;
            let mut skills = conn.prepare(
                "SELECT skill, proficiency FROM agent_skills WHERE agent_id = ?1 ORDER BY skill",
            )?;
            let rows = agents
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (id, login, display_name, role, enabled, realm) in rows {
                let skills = skills
                    .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u8>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(AgentRecord {
                    login,
                    display_name,
                    // The CHECK constraint keeps other values out.
                    role: AgentRole::parse(&role).unwrap_or(AgentRole::Agent),
                    enabled,
                    realm,
                    skills,
                });
            }
            Ok(out)
        })
        .map_err(AgentError::from)
}

/// One agent by login (`None`: no such agent). Reads the whole list: it serves logins,
/// which are rare next to calls.
pub fn find(store: &Store, login: &str) -> Result<Option<AgentRecord>, AgentError> {
    Ok(list(store)?.into_iter().find(|agent| agent.login == login))
}

/// Removes an agent (and its skills).
pub fn remove(store: &Store, login: &str) -> Result<(), AgentError> {
    let removed = store
        .with(|c| c.execute("DELETE FROM agents WHERE login = ?1", [login]))
        .map_err(AgentError::from)?;
    if removed == 0 {
        return Err(AgentError::Unknown(login.to_string()));
    }
    Ok(())
}

/// Sets a new password: both secrets, the SIP ones for `realm` (which may be new).
pub fn set_password(
    store: &Store,
    login: &str,
    password: &str,
    realm: &str,
) -> Result<(), AgentError> {
    let secrets = derive(login, realm, password)?;
    let changed = store
        .with(|c| {
            c.execute(
                "UPDATE agents SET password_hash = ?2, realm = ?3, ha1_md5 = ?4, ha1_sha256 = ?5 WHERE login = ?1",
                params![
                    login,
                    secrets.password_hash,
                    secrets.sip.realm,
                    secrets.sip.ha1_md5,
                    secrets.sip.ha1_sha256
                ],
            )
        })
        .map_err(AgentError::from)?;
    if changed == 0 {
        return Err(AgentError::Unknown(login.to_string()));
    }
    Ok(())
}

/// Turns an agent on or off without losing it (a disabled agent cannot register).
pub fn set_enabled(store: &Store, login: &str, enabled: bool) -> Result<(), AgentError> {
    let changed = store
        .with(|c| {
            c.execute(
                "UPDATE agents SET enabled = ?2 WHERE login = ?1",
                params![login, enabled],
            )
        })
        .map_err(AgentError::from)?;
    if changed == 0 {
        return Err(AgentError::Unknown(login.to_string()));
    }
    Ok(())
}

/// The SIP digest secrets of an enabled agent; `None` for an unknown or disabled one.
pub fn sip_secrets(store: &Store, login: &str) -> Result<Option<DigestSecrets>, DataError> {
    store.with(|c| {
        c.query_row(
            "SELECT realm, ha1_md5, ha1_sha256 FROM agents WHERE login = ?1 AND enabled = 1",
            [login],
            |r| {
                Ok(DigestSecrets {
                    realm: r.get(0)?,
                    ha1_md5: r.get(1)?,
                    ha1_sha256: r.get(2)?,
                })
            },
        )
        .optional()
    })
}

/// Whether `password` is an enabled agent's HTTP password (argon2id, constant-time). An
/// unknown login spends the same work, so timing does not tell which logins exist.
pub fn password_matches(store: &Store, login: &str, password: &str) -> Result<bool, DataError> {
    let stored: Option<String> = store.with(|c| {
        c.query_row(
            "SELECT password_hash FROM agents WHERE login = ?1 AND enabled = 1",
            [login],
            |r| r.get(0),
        )
        .optional()
    })?;
    Ok(match stored {
        Some(hash) => pin_matches(&hash, password),
        None => {
            super::pin::decoy_check(password);
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db"), Duration::from_millis(100)).unwrap();
        (dir, store)
    }

    fn alice() -> NewAgent {
        NewAgent {
            login: "alice".into(),
            display_name: "Alice Agent".into(),
            role: AgentRole::Agent,
            skills: vec![("cards".into(), 5), ("general".into(), 2)],
        }
    }

    #[test]
    fn an_added_agent_is_listed_with_skills_and_no_secret_is_stored_in_plain_text() {
        let (_dir, store) = store();
        add(&store, &alice(), "sup3r-secret", "hotline").unwrap();
        let agents = list(&store).unwrap();
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].display_name, "Alice Agent");
        assert_eq!(
            agents[0].skills,
            vec![("cards".to_string(), 5), ("general".to_string(), 2)]
        );
        for file in std::fs::read_dir(store.path().parent().unwrap()).unwrap() {
            let raw = std::fs::read(file.unwrap().path()).unwrap();
            let raw = String::from_utf8_lossy(&raw);
            assert!(
                !raw.contains("sup3r-secret"),
                "the password is in no database file"
            );
        }
        let secrets = sip_secrets(&store, "alice").unwrap().unwrap();
        assert_eq!(
            secrets,
            DigestSecrets::derive("alice", "hotline", "sup3r-secret")
        );
        assert!(password_matches(&store, "alice", "sup3r-secret").unwrap());
        assert!(!password_matches(&store, "alice", "sup3r-secreT").unwrap());
        assert!(!password_matches(&store, "nobody", "sup3r-secret").unwrap());
    }

    #[test]
    fn bad_logins_skills_levels_passwords_and_duplicates_are_refused() {
        let (_dir, store) = store();
        let mut bad = alice();
        bad.login = "al ice".into();
        assert!(matches!(
            add(&store, &bad, "longenough", "r"),
            Err(AgentError::BadLogin(_))
        ));
        let mut bad = alice();
        bad.skills = vec![("cards".into(), 6)];
        assert!(matches!(
            add(&store, &bad, "longenough", "r"),
            Err(AgentError::BadProficiency { level: 6, .. })
        ));
        assert!(matches!(
            add(&store, &alice(), "short", "r"),
            Err(AgentError::ShortPassword)
        ));
        add(&store, &alice(), "longenough", "r").unwrap();
        assert!(matches!(
            add(&store, &alice(), "longenough", "r"),
            Err(AgentError::Exists(_))
        ));
        assert_eq!(list(&store).unwrap().len(), 1);
    }

    #[test]
    fn a_new_password_replaces_both_secrets_and_may_move_the_realm() {
        let (_dir, store) = store();
        add(&store, &alice(), "first-password", "old").unwrap();
        set_password(&store, "alice", "second-password", "new").unwrap();
        let secrets = sip_secrets(&store, "alice").unwrap().unwrap();
        assert_eq!(
            secrets,
            DigestSecrets::derive("alice", "new", "second-password")
        );
        assert!(password_matches(&store, "alice", "second-password").unwrap());
        assert!(!password_matches(&store, "alice", "first-password").unwrap());
        assert!(matches!(
            set_password(&store, "bob", "whatever-long", "new"),
            Err(AgentError::Unknown(_))
        ));
    }

    #[test]
    fn a_disabled_or_removed_agent_has_no_sip_secrets() {
        let (_dir, store) = store();
        add(&store, &alice(), "longenough", "r").unwrap();
        set_enabled(&store, "alice", false).unwrap();
        assert_eq!(sip_secrets(&store, "alice").unwrap(), None);
        assert!(!list(&store).unwrap()[0].enabled);
        set_enabled(&store, "alice", true).unwrap();
        assert!(sip_secrets(&store, "alice").unwrap().is_some());
        remove(&store, "alice").unwrap();
        assert_eq!(sip_secrets(&store, "alice").unwrap(), None);
        let skills: i64 = store
            .with(|c| c.query_row("SELECT count(*) FROM agent_skills", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(skills, 0, "skills go with the agent");
        assert!(matches!(
            remove(&store, "alice"),
            Err(AgentError::Unknown(_))
        ));
    }
}
