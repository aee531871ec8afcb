//! `cargo xtask run|test|setup` (the alias is in .cargo/config.toml): the README's two
//! commands. Each first installs the Debian packages the task needs that are missing (with
//! apt-get, through sudo when not root, saying what and why; nothing when all are there),
//! then hands over to cargo: `run` is `cargo run --release` with the arguments passed to the
//! server, `test` is `cargo test --workspace` with the arguments passed to cargo.
//! Plain Rust with no dependencies, so it builds in seconds on a machine that has nothing
//! else: no make, no Python, no shell script needed to start.

mod install;
mod packages;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use install::{Machine, Plan, SKIP_VARIABLE};
use packages::{Package, Task};

const USAGE: &str = "\
usage: cargo xtask <command> [arguments]

  run [ARGS...]    set up what is missing, then `cargo run --release -- ARGS`
                   (the server on its defaults when there are no ARGS)
  test [ARGS...]   set up what is missing, then `cargo test --workspace ARGS`
  setup            install the Debian packages the build and the tests need, and stop

The set-up installs missing Debian packages with apt-get (through sudo when not root).
Set HOTLINE_SKIP_SETUP=1 to skip it on a machine set up by other means.";

/// What was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    Run(Vec<String>),
    Test(Vec<String>),
    Setup,
    Help,
}

impl Request {
    fn parse(args: &[String]) -> Result<Request, String> {
        let rest = || args[1..].to_vec();
        match args.first().map(String::as_str) {
            Some("run") => Ok(Request::Run(rest())),
            Some("test") => Ok(Request::Test(rest())),
            Some("setup") if args.len() == 1 => Ok(Request::Setup),
            Some("setup") => Err(format!("`setup` takes no arguments, got {:?}", &args[1..])),
            None | Some("help" | "-h" | "--help") => Ok(Request::Help),
            Some(other) => Err(format!("unknown command `{other}`")),
        }
    }

    /// The packages to check: the tests need everything the server does, and more.
    fn task(&self) -> Option<Task> {
        match self {
            Request::Run(_) => Some(Task::Run),
            Request::Test(_) | Request::Setup => Some(Task::Test),
            Request::Help => None,
        }
    }

    /// The cargo arguments this request hands over to, if any.
    fn cargo_args(&self) -> Option<Vec<String>> {
        let with = |head: &[&str], tail: &[String]| {
            head.iter()
                .map(|s| s.to_string())
                .chain(tail.iter().cloned())
                .collect()
        };
        match self {
            Request::Run(args) => Some(with(&["run", "--release", "-p", "hotline", "--"], args)),
            Request::Test(args) => Some(with(&["test", "--workspace"], args)),
            Request::Setup | Request::Help => None,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let request = match Request::parse(&args) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("xtask: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(task) = request.task() else {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    };
    if std::env::var_os(SKIP_VARIABLE).is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("xtask: {SKIP_VARIABLE} is set: not checking system packages");
    } else if let Err(message) = set_up(task) {
        eprintln!("xtask: {message}");
        return ExitCode::FAILURE;
    }
    match request.cargo_args() {
        Some(cargo_args) => hand_over(&cargo_args),
        None => ExitCode::SUCCESS,
    }
}

/// Installs what `task` needs and the machine lacks; an error is a message for the user.
fn set_up(task: Task) -> Result<(), String> {
    let mut wanted = packages::needed(task);
    if task == Task::Test && !on_path("npm") {
        wanted.extend_from_slice(packages::NODE);
    }
    let machine = Machine {
        apt: on_path("apt-get") && on_path("dpkg-query"),
        root: is_root(),
        sudo: on_path("sudo"),
    };
    let missing = if machine.apt {
        installed_query(&wanted)?
    } else {
        wanted
    };
    install_packages(&missing, machine)?;
    if task == Task::Test {
        install_browser_driver()?;
    }
    Ok(())
}

/// The browser tests' npm packages (tests/browser), as the lock file pins them, when they
/// are not installed yet or the lock file changed since.
fn install_browser_driver() -> Result<(), String> {
    let dir = workspace_root().join("tests/browser");
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(lock), Some(installed)) = (modified(&lock), modified(&installed))
        && installed >= lock
    {
        return Ok(());
    }
    eprintln!("xtask: installing the browser tests' npm packages (npm ci in tests/browser)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`npm ci` in tests/browser failed ({status}); run it there and try again"
        ))
    }
}

/// Installs the missing Debian packages, saying which and why.
fn install_packages(missing: &[Package], machine: Machine) -> Result<(), String> {
    match install::plan(missing, machine) {
        Plan::Nothing => {
            eprintln!("xtask: the system packages Hotline needs are installed");
            Ok(())
        }
        Plan::Stop(message) => Err(message),
        Plan::Install(commands) => {
            eprintln!(
                "xtask: installing the missing Debian packages:\n{}",
                install::list(missing)
            );
            for command in commands {
                eprintln!("xtask: running: {}", command.join(" "));
                let status = Command::new(&command[0])
                    .args(&command[1..])
                    .stdin(Stdio::inherit())
                    .status()
                    .map_err(|e| format!("cannot run {}: {e}", command[0]))?;
                if !status.success() {
                    return Err(format!(
                        "`{}` failed ({status}); install the packages above and run again",
                        command.join(" ")
                    ));
                }
            }
            Ok(())
        }
    }
}

/// Which of `wanted` dpkg does not show installed.
fn installed_query(wanted: &[Package]) -> Result<Vec<Package>, String> {
    // dpkg-query exits with 1 when some package is unknown to it, and still lists the
    // others: its answer is read whatever the status.
    let output = Command::new("dpkg-query")
        .args(packages::dpkg_query_args(wanted))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run dpkg-query: {e}"))?;
    Ok(packages::missing(
        wanted,
        &String::from_utf8_lossy(&output.stdout),
    ))
}

/// Whether an executable `name` is on PATH.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Whether this process runs as root: /proc/self belongs to the process's user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(meta) => meta.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0"),
    }
}

/// The workspace root: cargo runs there whatever directory the user typed the command in.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Replaces this process with cargo, so signals (Ctrl-C, SIGTERM to the server) and the exit
/// status are the server's or the tests' own.
fn hand_over(cargo_args: &[String]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let error = Command::new(&cargo)
        .args(cargo_args)
        .current_dir(workspace_root())
        .exec();
    eprintln!("xtask: cannot run {}: {error}", cargo.to_string_lossy());
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn run_passes_its_arguments_to_the_server() {
        let request = Request::parse(&strings(&["run", "serve", "--config", "x.toml"])).unwrap();
        assert_eq!(request.task(), Some(Task::Run));
        assert_eq!(
            request.cargo_args().unwrap(),
            strings(&[
                "run",
                "--release",
                "-p",
                "hotline",
                "--",
                "serve",
                "--config",
                "x.toml"
            ])
        );
    }

    #[test]
    fn run_alone_is_the_server_on_its_defaults() {
        let request = Request::parse(&strings(&["run"])).unwrap();
        assert_eq!(
            request.cargo_args().unwrap(),
            strings(&["run", "--release", "-p", "hotline", "--"])
        );
    }

    #[test]
    fn test_passes_its_arguments_to_cargo_test() {
        let request = Request::parse(&strings(&["test", "--test", "calls"])).unwrap();
        assert_eq!(request.task(), Some(Task::Test));
        assert_eq!(
            request.cargo_args().unwrap(),
            strings(&["test", "--workspace", "--test", "calls"])
        );
    }

    #[test]
    fn setup_installs_what_the_tests_need_and_runs_nothing() {
        let request = Request::parse(&strings(&["setup"])).unwrap();
        assert_eq!(request.task(), Some(Task::Test));
        assert_eq!(request.cargo_args(), None);
        assert!(Request::parse(&strings(&["setup", "now"])).is_err());
    }

    #[test]
    fn an_unknown_command_is_refused_and_none_is_help() {
        let err = Request::parse(&strings(&["build"])).unwrap_err();
        assert!(err.contains("`build`"), "{err}");
        assert_eq!(Request::parse(&[]).unwrap(), Request::Help);
        assert_eq!(Request::Help.task(), None);
    }

    #[test]
    fn the_workspace_root_holds_the_server_and_this_task() {
        let root = workspace_root();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("xtask/Cargo.toml").is_file());
    }
}
