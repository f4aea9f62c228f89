#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cli;
mod config;
mod logging;
mod router_adapter;
mod run;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

/// Exit code for a configuration or usage error (clap uses it too).
const EXIT_USAGE: u8 = 2;
/// Exit code for a failure while running.
const EXIT_RUNTIME: u8 = 1;

fn main() -> ExitCode {
    let cli = cli::Cli::parse(); // exits 2 on usage errors, 0 on --help/--version
    match cli.command {
        cli::Command::ConfigExample => print_stdout(config::EXAMPLE),
        cli::Command::Run(args) => run(&args),
    }
}

fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gousse: cannot write to stdout: {err}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn run(args: &cli::RunArgs) -> ExitCode {
    let env_log = std::env::var("RUST_LOG").ok();
    let settings = match config::settings(args, env_log) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("gousse: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if args.print_config {
        return match config::to_toml(&settings) {
            Ok(text) => print_stdout(&text),
            Err(err) => {
                eprintln!("gousse: cannot print the configuration: {err}");
                ExitCode::from(EXIT_RUNTIME)
            }
        };
    }

    let data_dir = settings.router.data_dir.clone();
    if let Err(err) =
        logging::ensure_data_dir(&data_dir).and_then(|()| logging::init(&settings.log, &data_dir))
    {
        eprintln!("gousse: {err}");
        return ExitCode::from(EXIT_RUNTIME);
    }
    tracing::info!(target: "gousse", "gousse {} starting, data directory {}",
        env!("CARGO_PKG_VERSION"), data_dir.display());
    if logging::readable_by_others(&data_dir) {
        tracing::warn!(target: "gousse",
            "data directory {} is accessible to other users; consider chmod 700",
            data_dir.display());
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gousse")
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(target: "gousse", "cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    match runtime.block_on(run::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(target: "gousse", "{err}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
