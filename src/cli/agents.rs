//! `hotline agents add|list|remove|passwd|enable|disable`: the people who take
//! transferred calls, kept in the embedded database. Passwords come from stdin
//! (`--password-stdin`) or a prompt without echo; they are never printed, and only their
//! argon2id hash and digest HA1s for `[registrar] realm` are stored.

use anyhow::{Context, bail};
use hotline::config::Config;
use hotline::data::Store;
use hotline::data::agents::{self, AgentRole, NewAgent};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: AgentsCommand,
    /// Data folder (default: `[data] dir` of the configuration, else `data/`).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    /// Configuration file (default: ./hotline.toml when it exists); gives the realm.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
enum AgentsCommand {
    /// Add an agent: the login is also the SIP user name of their phone.
    Add {
        login: String,
        /// Display name.
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["agent", "supervisor"], default_value = "agent")]
        role: String,
        /// A skill and its proficiency 1-5, such as `cards=5`; repeatable.
        #[arg(long = "skill", value_name = "NAME=LEVEL")]
        skills: Vec<String>,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List agents (never their secrets).
    List,
    /// Remove an agent and their skills.
    Remove { login: String },
    /// Set a new password (also after a realm change).
    Passwd {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Let an agent register and log in again.
    Enable { login: String },
    /// Keep an agent without letting them register or log in.
    Disable { login: String },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config_path = args
        .config
        .or_else(|| Some(PathBuf::from("hotline.toml")).filter(|p| p.exists()));
    let config = match &config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let realm = config.registrar.realm.clone();
    let data = config.data;
    let path = args.dir.unwrap_or(data.dir).join(&data.database);
    let store = Store::open(&path, Duration::from_millis(data.busy_timeout_ms))?;
    match args.command {
        AgentsCommand::Add {
            login,
            name,
            role,
            skills,
            password_stdin,
        } => {
            let agent = NewAgent {
                login: login.clone(),
                display_name: name,
                role: AgentRole::parse(&role).unwrap_or(AgentRole::Agent),
                skills: skills
                    .iter()
                    .map(|s| parse_skill(s))
                    .collect::<anyhow::Result<_>>()?,
            };
            agents::check_login(&login)?;
            let password = read_password(&login, password_stdin)?;
            agents::add(&store, &agent, &password, &realm)?;
            println!("agent {login} added (SIP realm \"{realm}\")");
        }
        AgentsCommand::List => list(&store, &realm)?,
        AgentsCommand::Remove { login } => {
            agents::remove(&store, &login)?;
            println!("agent {login} removed");
        }
        AgentsCommand::Passwd {
            login,
            password_stdin,
        } => {
            if !agents::list(&store)?.iter().any(|a| a.login == login) {
                bail!("no agent `{login}`");
            }
            let password = read_password(&login, password_stdin)?;
            agents::set_password(&store, &login, &password, &realm)?;
            println!("password of {login} changed (SIP realm \"{realm}\")");
        }
        AgentsCommand::Enable { login } => {
            agents::set_enabled(&store, &login, true)?;
            println!("agent {login} enabled");
        }
        AgentsCommand::Disable { login } => {
            agents::set_enabled(&store, &login, false)?;
            println!("agent {login} disabled");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_skill(text: &str) -> anyhow::Result<(String, i64)> {
    let (name, level) = text
        .split_once('=')
        .with_context(|| format!("--skill {text}: expected NAME=LEVEL, such as cards=5"))?;
    let level = level
        .trim()
        .parse()
        .with_context(|| format!("--skill {text}: the level must be a number from 1 to 5"))?;
    Ok((name.trim().to_string(), level))
}

fn read_password(login: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to prompt on: give the password on stdin with --password-stdin");
    }
    let first = rpassword::prompt_password(format!("password for {login}: "))
        .context("cannot read the password")?;
    let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
    if first != again {
        bail!("the two passwords differ; nothing changed");
    }
    Ok(first)
}

fn list(store: &Store, realm: &str) -> anyhow::Result<()> {
    let agents = agents::list(store)?;
    if agents.is_empty() {
        println!("no agents (add one with `hotline agents add LOGIN --name NAME`)");
        return Ok(());
    }
    println!("| login | name | role | enabled | skills | SIP realm |");
    println!("|---|---|---|---|---|---|");
    for agent in agents {
        let skills: Vec<String> = agent
            .skills
            .iter()
            .map(|(skill, level)| format!("{skill}={level}"))
            .collect();
        let realm_note = if agent.realm == realm {
            agent.realm.clone()
        } else {
            format!("{} (not \"{realm}\": run passwd)", agent.realm)
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            agent.login,
            agent.display_name,
            agent.role.as_str(),
            if agent.enabled { "yes" } else { "no" },
            if skills.is_empty() {
                "-".to_string()
            } else {
                skills.join(" ")
            },
            realm_note
        );
    }
    Ok(())
}
