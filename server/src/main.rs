//! `preflight`: argument parsing only; the work happens in `cli` and `lsp`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use preflight::analysis::Severity;
use preflight::cli::{self, CheckArgs, OutputFormat};

#[derive(Parser)]
#[command(
    name = "preflight",
    version,
    about = "Finds production-readiness problems in Python backends and their settings files"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check files and directories (default: the current directory).
    Check {
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Apply fixes: safe ones, and the behaviour-changing ones fix-all applies on save
        /// unless `unsafe-fixes = false` is configured.
        #[arg(long)]
        fix: bool,
        /// With --fix: only fixes that keep the program's behaviour.
        #[arg(long)]
        no_unsafe_fixes: bool,
        /// Rules to run (ids, prefixes or names), replacing the configuration's `select`.
        #[arg(long, value_delimiter = ',')]
        select: Option<Vec<String>>,
        /// Rules to skip, replacing the configuration's `ignore`.
        #[arg(long, value_delimiter = ',')]
        ignore: Option<Vec<String>>,
        /// Lowest severity reported (and counted for the exit code).
        #[arg(long, value_enum, default_value_t = SeverityArg::Warning)]
        severity: SeverityArg,
        /// Use this configuration file instead of discovering one per file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Do not read or write the result cache.
        #[arg(long)]
        no_cache: bool,
        /// Where to keep the result cache (default: `.preflight_cache` in the current directory).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Run the language server over standard input/output.
    Server {
        /// Accepted for editors that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// List the rules.
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Print a rule's documentation.
    Explain { rule: String },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SeverityArg {
    Hint,
    Info,
    Warning,
    Error,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RulesFormat {
    Text,
    Json,
    Markdown,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Check {
            paths,
            format,
            fix,
            no_unsafe_fixes,
            select,
            ignore,
            severity,
            config,
            no_cache,
            cache_dir,
        } => {
            let min_severity = match severity {
                SeverityArg::Hint => Severity::Hint,
                SeverityArg::Info => Severity::Info,
                SeverityArg::Warning => Severity::Warning,
                SeverityArg::Error => Severity::Error,
            };
            cli::check(CheckArgs {
                paths,
                format,
                fix,
                no_unsafe_fixes,
                select,
                ignore,
                min_severity,
                config,
                no_cache,
                cache_dir,
            })
        }
        Command::Server { stdio: _ } => preflight::lsp::run(),
        Command::Rules { format } => cli::rules(match format {
            RulesFormat::Text => cli::RulesFormat::Text,
            RulesFormat::Json => cli::RulesFormat::Json,
            RulesFormat::Markdown => cli::RulesFormat::Markdown,
        }),
        Command::Explain { rule } => cli::explain(&rule),
    }
}
