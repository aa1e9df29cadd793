//! The `lanyard` binary: everything lives in the library; see `lanyard::cli`.

/// mimalloc rather than glibc's allocator: the token endpoint's many small, short-lived
/// allocations across worker threads spent ~12 % of the CPU in glibc malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lanyard::cli::run()
}
