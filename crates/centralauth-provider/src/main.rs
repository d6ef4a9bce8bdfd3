//! The `centralauth` binary: read the configuration file into the environment, parse the
//! command line, set up logging, run the command.

use centralauth_provider::{cli, config};
use clap::Parser;

fn main() -> std::process::ExitCode {
    centralauth_provider::memory::return_large_blocks_to_the_system();
    // Before any thread exists: the file fills in environment variables that are not set.
    match config::file_settings(std::env::var_os("CENTRALAUTH_CONFIG").as_deref().map(std::path::Path::new)) {
        Ok(settings) => settings.into_iter().filter(|(var, _)| std::env::var_os(var).is_none()).for_each(|(var, value)| {
            // SAFETY: single-threaded here; no other code reads the environment concurrently.
            unsafe { std::env::set_var(var, value) }
        }),
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    }
    let args = cli::Cli::parse();
    cli::init_logging(args.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
