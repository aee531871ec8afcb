//! What the set-up does about missing packages on this machine: nothing, the apt-get
//! command lines to run (directly as root, through sudo otherwise), or a message that says
//! what to install and stops.

use crate::packages::Package;

/// What the set-up found out about the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// apt-get and dpkg-query are there (Debian, Ubuntu and their derivatives).
    pub apt: bool,
    pub root: bool,
    pub sudo: bool,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Everything is installed.
    Nothing,
    /// Run these command lines, in order.
    Install(Vec<Vec<String>>),
    /// Cannot install here: tell the user this and stop.
    Stop(String),
}

/// The environment variable that skips the set-up (a machine set up by other means).
pub const SKIP_VARIABLE: &str = "HOTLINE_SKIP_SETUP";

/// Decides what to do about `missing` (every needed package, when the machine has no dpkg
/// to ask).
pub fn plan(missing: &[Package], machine: Machine) -> Plan {
    if missing.is_empty() {
        return Plan::Nothing;
    }
    if !machine.apt {
        return Plan::Stop(format!(
            "this machine has no apt-get, so the set-up cannot install what Hotline needs.\n\
             Install these (Debian names; your distribution's may differ):\n{}\n\
             then run the same command again with {SKIP_VARIABLE}=1.",
            list(missing)
        ));
    }
    if !machine.root && !machine.sudo {
        return Plan::Stop(format!(
            "these packages are missing and installing them needs root (there is no sudo):\n{}\n\
             As root, run:\n  {}",
            list(missing),
            apt_commands(missing, true)
                .iter()
                .map(|c| c.join(" "))
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
    Plan::Install(apt_commands(missing, machine.root))
}

/// `apt-get update` (a fresh machine often has no package lists yet), then the install,
/// non-interactive, without recommended extras; through sudo when not `root`.
pub fn apt_commands(missing: &[Package], root: bool) -> Vec<Vec<String>> {
    let prefix: &[&str] = if root {
        &["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    } else {
        &["sudo", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    };
    let line = |args: &[&str]| -> Vec<String> {
        prefix.iter().chain(args).map(|s| s.to_string()).collect()
    };
    let mut install = line(&["install", "-y", "--no-install-recommends"]);
    install.extend(missing.iter().map(|p| p.name.to_string()));
    vec![line(&["update"]), install]
}

/// One package a line, with its reason.
pub fn list(packages: &[Package]) -> String {
    let width = packages.iter().map(|p| p.name.len()).max().unwrap_or(0);
    packages
        .iter()
        .map(|p| format!("  {:width$}  {}", p.name, p.why))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::{Task, needed};

    const DEBIAN_ROOT: Machine = Machine {
        apt: true,
        root: true,
        sudo: false,
    };
    const DEBIAN_USER: Machine = Machine {
        apt: true,
        root: false,
        sudo: true,
    };

    fn two() -> Vec<Package> {
        needed(Task::Test)
            .into_iter()
            .filter(|p| p.name == "cmake" || p.name == "sox")
            .collect()
    }

    #[test]
    fn nothing_missing_means_nothing_to_do_even_without_apt() {
        assert_eq!(plan(&[], DEBIAN_ROOT), Plan::Nothing);
        let elsewhere = Machine {
            apt: false,
            root: false,
            sudo: false,
        };
        assert_eq!(plan(&[], elsewhere), Plan::Nothing);
    }

    #[test]
    fn root_runs_apt_get_itself_non_interactively() {
        let Plan::Install(commands) = plan(&two(), DEBIAN_ROOT) else {
            panic!("expected an install");
        };
        let lines: Vec<String> = commands.iter().map(|c| c.join(" ")).collect();
        assert_eq!(
            lines,
            [
                "env DEBIAN_FRONTEND=noninteractive apt-get update",
                "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake sox",
            ]
        );
    }

    #[test]
    fn a_user_goes_through_sudo_with_the_same_command() {
        let Plan::Install(commands) = plan(&two(), DEBIAN_USER) else {
            panic!("expected an install");
        };
        let lines: Vec<String> = commands.iter().map(|c| c.join(" ")).collect();
        assert_eq!(
            lines,
            [
                "sudo env DEBIAN_FRONTEND=noninteractive apt-get update",
                "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake sox",
            ]
        );
    }

    #[test]
    fn a_user_without_sudo_is_told_the_command_to_run_as_root() {
        let no_sudo = Machine {
            sudo: false,
            ..DEBIAN_USER
        };
        let Plan::Stop(message) = plan(&two(), no_sudo) else {
            panic!("expected a stop");
        };
        assert!(message.contains("needs root"), "{message}");
        assert!(
            message.contains("apt-get install -y --no-install-recommends cmake sox"),
            "{message}"
        );
    }

    #[test]
    fn without_apt_get_the_packages_are_named_with_their_reasons() {
        let missing = needed(Task::Run);
        let Plan::Stop(message) = plan(
            &missing,
            Machine {
                apt: false,
                root: true,
                sudo: true,
            },
        ) else {
            panic!("expected a stop");
        };
        for package in &missing {
            assert!(message.contains(package.name), "{message}");
            assert!(message.contains(package.why), "{message}");
        }
        assert!(message.contains(SKIP_VARIABLE), "{message}");
    }
}
