//! The `lanyard` binary: everything lives in the library; see `lanyard::cli`.

fn main() -> std::process::ExitCode {
    lanyard::cli::run()
}
