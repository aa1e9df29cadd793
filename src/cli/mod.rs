//! The `lanyard` command line: the server (`serve`, `migrate`), operator commands that work
//! directly on the database (`bootstrap`, `keys`, `audit`, `admin token create`), and an admin
//! API client (`admin users`, `admin groups`), and the employee's commands (`login`,
//! `accounts`, `creds`, `exec`, `configure aws`, `logout`) over the AWS-compatible API.
//!
//! Exit codes scripts can rely on: 0 success, 1 error, 2 usage, 3 refused because of existing
//! state (conflict), 4 not authorised, 5 server unreachable, 6 not found.

pub mod access;
pub mod admin;
pub mod apps;
pub mod creds;
pub mod local;
pub mod login;
pub mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "lanyard", version, about = "Lanyard: a self-hosted workforce identity center")]
pub struct Cli {
    /// Configuration file (default: ./lanyard.toml if present).
    #[arg(long, global = true, env = "LANYARD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies migrations, generates the master key file on first start).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Create the first administrator directly in the database (no server needed).
    Bootstrap {
        /// The administrator's username.
        #[arg(long)]
        admin: String,
        /// Read the password from standard input instead of generating a one-time password.
        #[arg(long)]
        password_stdin: bool,
        /// Reset this user's password and make them an administrator even if one exists.
        #[arg(long)]
        force_reset: bool,
    },
    /// Master key and signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Administration: tokens (direct), users, groups, accounts, permission sets and
    /// assignments (through the admin API).
    #[command(subcommand)]
    Admin(Box<admin::AdminCmd>),
    /// Policy documents: validate one locally, or simulate decisions through the API.
    #[command(subcommand)]
    Policy(access::PolicyCmd),
    /// Sign in from this terminal (device flow: approve the code in your browser).
    Login {
        #[command(flatten)]
        target: login::Target,
        /// Do not try to open a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// List the accounts and roles you can use.
    Accounts {
        #[command(flatten)]
        target: login::Target,
    },
    /// Print temporary credentials for a role (cached until five minutes before they expire).
    Creds {
        #[command(flatten)]
        target: login::Target,
        #[command(flatten)]
        role: creds::RoleArgs,
        #[arg(long, value_enum, default_value = "json")]
        format: creds::Format,
    },
    /// Run a command with a role's credentials in its environment.
    Exec {
        #[command(flatten)]
        target: login::Target,
        #[command(flatten)]
        role: creds::RoleArgs,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Write configuration for other tools.
    #[command(subcommand)]
    Configure(ConfigureCmd),
    /// Sign out from this terminal and forget cached credentials.
    Logout {
        #[command(flatten)]
        target: login::Target,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigureCmd {
    /// Add AWS CLI/SDK profiles (~/.aws/config) that get credentials from `lanyard creds`.
    Aws {
        #[command(flatten)]
        target: login::Target,
        /// Only this account (id or name).
        #[arg(long)]
        account: Option<String>,
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
        /// The profile's name (with one account and role; default: <account>-<role>).
        #[arg(long)]
        profile: Option<String>,
        /// The profiles' default region.
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print the effective configuration, secrets redacted.
    Print,
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Generate a new master key and re-wrap every data key with it.
    RotateMaster,
    /// List signing keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Generate a pending signing key.
    Generate {
        /// ES256 (default) or RS256.
        #[arg(long, default_value = "ES256")]
        alg: String,
    },
    /// Make a pending signing key active (the active one of its algorithm retires).
    Activate { id: uuid::Uuid },
    /// Rotate the token signing key: the new key is published now and signs after
    /// `oidc.key_prepublish` (or at once with --immediately, after a compromise).
    Rotate {
        /// ES256 (default), RS256 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
        #[arg(long)]
        immediately: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain; names the first broken row.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Show the latest events.
    Tail {
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: i64,
        /// Keep printing new events.
        #[arg(short, long)]
        follow: bool,
        #[arg(long)]
        json: bool,
    },
}

/// A command failure with the exit code scripts see.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::new(1, format!("{e:#}"))
    }
}

impl From<crate::error::Error> for Failure {
    fn from(e: crate::error::Error) -> Self {
        let code = match &e {
            crate::error::Error::Conflict(_) => 3,
            crate::error::Error::NotFound(_) => 6,
            _ => 1,
        };
        Failure::new(
            code,
            match &e {
                crate::error::Error::Internal(inner) => format!("{inner:#}"),
                other => other.to_string(),
            },
        )
    }
}

pub type CmdResult = Result<(), Failure>;

/// Parses arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // `exec` passes on its command's exit code with nothing to add.
            if !f.message.is_empty() {
                eprintln!("error: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

fn load_config(path: &Option<PathBuf>) -> Result<crate::config::Config, Failure> {
    crate::config::Config::load(&crate::config::Sources { file: path.clone() }).map_err(|e| Failure::new(2, e.0))
}

async fn dispatch(cli: Cli) -> CmdResult {
    match cli.command {
        Command::Serve => serve::serve(load_config(&cli.config)?).await,
        Command::Migrate => serve::migrate(load_config(&cli.config)?).await,
        Command::Config(ConfigCmd::Print) => {
            print!("{}", load_config(&cli.config)?.to_redacted_toml());
            Ok(())
        }
        Command::Bootstrap { admin, password_stdin, force_reset } => {
            local::bootstrap(load_config(&cli.config)?, &admin, password_stdin, force_reset).await
        }
        Command::Keys(cmd) => local::keys(load_config(&cli.config)?, cmd).await,
        Command::Audit(cmd) => local::audit(load_config(&cli.config)?, cmd).await,
        Command::Admin(cmd) => admin::run(&cli.config, *cmd).await,
        Command::Policy(cmd) => access::policy(&cli.config, cmd).await,
        Command::Login { target, no_browser } => login::login(target, no_browser).await,
        Command::Accounts { target } => login::accounts(target).await,
        Command::Creds { target, role, format } => creds::creds(target, role, format).await,
        Command::Exec { target, role, command } => creds::exec(target, role, command).await,
        Command::Configure(ConfigureCmd::Aws { target, account, role, profile, region }) => {
            creds::configure_aws(target, account, role, profile, region).await
        }
        Command::Logout { target } => login::logout(target).await,
    }
}

/// Logging for commands other than `serve`: warnings only, on stderr.
pub fn init_quiet_logging() {
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter("warn").try_init();
}
