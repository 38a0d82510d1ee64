//! `slipway login`, `slipway logout`, `slipway users ...` and `slipway tokens ...`.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use slipway_client::{Client, ClientError};

use super::{Connection, Failure, Session, Source, environment, resolve_server, value_from_stdin};
use crate::credentials::{self, Credentials};
use crate::output::outln;

/// `slipway login`.
#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    connection: Connection,
}

/// `slipway login`: checks the token with the server and saves both.
pub fn login(args: &LoginArgs) -> Result<ExitCode, Failure> {
    let path = credentials::path().map_err(Failure::usage)?;
    let (server, server_source) = resolve_server(&args.connection)?;
    let (token, token_source) = if let Some(token) = args.connection.token.clone() {
        (token, Source::Flag)
    } else if let Some(token) = environment("SLIPWAY_TOKEN") {
        (token, Source::Environment)
    } else {
        if !std::io::stdin().is_terminal() {
            eprintln!("Reading the token for {server} from standard input.");
        }
        (value_from_stdin(&format!("Token for {server}: "), true)?, Source::Input)
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(Failure::usage(
            "no token given: pass --token TOKEN, set SLIPWAY_TOKEN, or type it when asked (`slipway serve` printed \
             the first admin token, also in DATA_DIR/admin-token)",
        ));
    }
    let client = Client::new(&server).map_err(|error| Failure::usage(error.to_string()))?.with_token(token.clone());
    let session = Session { client, server_source, token_source: Some(token_source) };
    let who = match session.client.me() {
        Ok(user) => format!(" as {} ({})", user.name, user.role),
        // A server without `GET /me`: any authenticated call checks the token.
        Err(ClientError::Api(problem)) if problem.is_unknown_route() => {
            session.client.pipelines().map_err(|error| session.fail(error))?;
            String::new()
        }
        Err(error) => return Err(session.fail(error)),
    };
    credentials::save(&path, &Credentials { server: session.client.server().to_owned(), token })
        .map_err(Failure::failed)?;
    outln!("Logged in to {}{who}; saved in {}.", session.client.server(), path.display());
    Ok(ExitCode::SUCCESS)
}

/// `slipway logout`: forgets the saved login.
pub fn logout() -> Result<ExitCode, Failure> {
    let path = credentials::path().map_err(Failure::usage)?;
    let saved = credentials::load(&path).ok().flatten();
    if credentials::remove(&path).map_err(Failure::failed)? {
        let from = saved.map(|saved| format!(" of {}", saved.server)).unwrap_or_default();
        outln!("Logged out{from}: removed {}.", path.display());
    } else {
        outln!("Not logged in: there is no {}.", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Role {
    /// Everything, including users, tokens and secrets.
    Admin,
    /// Create and run pipelines, manage variables.
    Contributor,
    /// Look only.
    Reader,
}

impl Role {
    fn wire(self) -> slipway_client::api::UserRole {
        use slipway_client::api::UserRole;
        match self {
            Self::Admin => UserRole::Admin,
            Self::Contributor => UserRole::Contributor,
            Self::Reader => UserRole::Reader,
        }
    }
}

/// `slipway users`.
#[derive(Args, Debug)]
pub struct UsersArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// Create a user with a first token, shown once (admin).
    Create {
        /// The user's name.
        name: String,
        /// What the user may do.
        #[arg(long, value_enum)]
        role: Role,
    },
}

/// `slipway users ...`.
pub fn users(args: UsersArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    match args.command {
        UsersCommand::Create { name, role } => {
            let created = session.client.create_user(&name, role.wire()).map_err(|error| session.fail(error))?;
            outln!("Created the user {} ({}). Their token, shown this once:", created.user.name, created.user.role);
            outln!("  {}", created.token);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `slipway tokens`.
#[derive(Args, Debug)]
pub struct TokensArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: TokensCommand,
}

#[derive(Subcommand, Debug)]
enum TokensCommand {
    /// Create a personal access token, shown once (for another user: admin).
    Create {
        /// The user it is for [default: you].
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// A name to tell it apart.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
}

/// `slipway tokens ...`.
pub fn tokens(args: TokensArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    match args.command {
        TokensCommand::Create { user, name } => {
            let user = match user {
                Some(user) => user,
                None => session.client.me().map_err(|error| session.fail(error))?.name,
            };
            let created = session.client.create_token(&user, name.as_deref()).map_err(|error| session.fail(error))?;
            outln!("Created the token '{}' of {}, shown this once:", created.name, created.user);
            outln!("  {}", created.token);
        }
    }
    Ok(ExitCode::SUCCESS)
}
