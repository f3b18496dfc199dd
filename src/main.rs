//! The `tidings` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    match tidings::cli::run(std::env::args_os()).map_err(anyhow::Error::from) {
        Ok(code) => code,
        Err(e) => {
            // Exit 1 means "ran, and found bad posts"; a command that could not run at all
            // (bad settings, unwritable output) is told apart by 2.
            // Every error's message already ends with its cause; printing the chain as well
            // would say it twice.
            eprintln!("tidings: {e}");
            ExitCode::from(2)
        }
    }
}
