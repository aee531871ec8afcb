//! `hotline graph FILE --format mermaid|dot`: the flow as a diagram on standard output.

use hotline::dialplan::{self, graph::GraphFormat};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Mermaid,
    Dot,
}

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The dialplan file.
    pub dialplan: PathBuf,
    /// Diagram language.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = match dialplan::load_path(&args.dialplan) {
        Ok((plan, _)) => plan,
        Err(report) => {
            eprint!("{}", report.render());
            anyhow::bail!(
                "{} has errors: fix them first (`hotline check`)",
                args.dialplan.display()
            );
        }
    };
    let format = match args.format {
        Format::Mermaid => GraphFormat::Mermaid,
        Format::Dot => GraphFormat::Dot,
    };
    print!("{}", dialplan::graph::render(&plan, format));
    Ok(ExitCode::SUCCESS)
}
