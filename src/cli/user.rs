//! `voucher-ledger user create`: bootstrap the first admin (and any user);
//! `user reset-password`: set a user's password (lost demo passwords, a
//! locked-out admin) — they must choose their own at the next login.
//!
//! The password comes from a prompt without echo on a terminal, or from
//! the first line of standard input otherwise — never from an argument,
//! where it would land in shell history and the process list.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use uuid::Uuid;

use crate::app::{StoreJob, with_store};
use crate::domain::{Password, Role, Username};
use crate::ledger::checkpoint::KeyPair;
use crate::service::access;
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum UserAction {
    /// Create a user. Reads the password from a prompt, or from stdin.
    Create {
        #[arg(long, env = "VOUCHER_DATABASE_URL", default_value = crate::app::DEFAULT_DATABASE_URL)]
        database_url: String,
        /// admin, finance, provider, enterprise or auditor.
        #[arg(long)]
        role: String,
        #[arg(long)]
        username: String,
        /// The provider or enterprise (provider and enterprise users only):
        /// its id or its USCC.
        #[arg(long)]
        party_id: Option<String>,
        /// The person's name as signed on documents (编制人, 审核人), for
        /// example "王芳"; at most 50 characters.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        key: super::KeyArgs,
    },
    /// Set a user's password (from a prompt, or stdin); their sessions and
    /// API tokens end, and they must choose their own at the next login.
    ResetPassword {
        #[arg(long, env = "VOUCHER_DATABASE_URL", default_value = crate::app::DEFAULT_DATABASE_URL)]
        database_url: String,
        #[arg(long)]
        username: String,
        #[command(flatten)]
        key: super::KeyArgs,
    },
}

pub async fn run(command: UserAction) -> anyhow::Result<ExitCode> {
    let (database_url, role, username, party_id, name, key) = match command {
        UserAction::Create {
            database_url,
            role,
            username,
            party_id,
            name,
            key,
        } => (database_url, role, username, party_id, name, key),
        UserAction::ResetPassword {
            database_url,
            username,
            key,
        } => return reset_password(&database_url, &username, &key).await,
    };
    let role = Role::parse(&role).ok_or_else(|| {
        anyhow::anyhow!("--role is one of admin, finance, provider, enterprise, auditor")
    })?;
    let username = Username::parse(&username).map_err(|e| anyhow::anyhow!("--username: {e}"))?;
    anyhow::ensure!(
        role.needs_party() == party_id.is_some(),
        "provider and enterprise users need --party-id; other roles must not have one"
    );
    let password = read_password()?;
    let (signer, _) = crate::keyfile::load_or_create(&key.key_file)?;
    // The username is sealed in its entry (docs/personal-data.md).
    let (personal_key, _) = crate::personal::master_key::load_or_create(
        &crate::personal::master_key::beside(&key.key_file),
    )?;
    let job = Create {
        signer: Arc::new(signer),
        personal_key: Arc::new(personal_key),
        username,
        role,
        party_id,
        display_name: name,
        password,
    };
    let user_id = with_store(&database_url, job).await??;
    println!("created user {user_id}");
    Ok(ExitCode::SUCCESS)
}

async fn reset_password(
    database_url: &str,
    username: &str,
    key: &super::KeyArgs,
) -> anyhow::Result<ExitCode> {
    let password = read_password()?;
    let (signer, _) = crate::keyfile::load_or_create(&key.key_file)?;
    let job = Reset {
        signer: Arc::new(signer),
        username: username.to_string(),
        password,
    };
    with_store(database_url, job).await??;
    println!("password of {username} reset: they must choose their own at the next login");
    Ok(ExitCode::SUCCESS)
}

struct Reset {
    signer: Arc<KeyPair>,
    username: String,
    password: Password,
}

impl StoreJob for Reset {
    type Output = anyhow::Result<()>;

    async fn run<S: Store>(self, store: S) -> anyhow::Result<()> {
        let user = store
            .user_by_username(&self.username)
            .await?
            .ok_or_else(|| anyhow::anyhow!("there is no user {}", self.username))?;
        let (writer, task) =
            super::start_writer(&store, self.signer.clone(), Default::default()).await?;
        let by = crate::service::commands::Envelope::new(
            super::cli_actor(),
            format!("cli:reset-password:{}:{}", user.id, Uuid::now_v7()),
        );
        let result = access::reset_password(&store, &writer, by, user.id, &self.password).await;
        drop(writer);
        task.await?;
        result.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn read_password() -> anyhow::Result<Password> {
    let text = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (12–128 characters): ")?;
        let again = rpassword::prompt_password("Repeat the password: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    Password::new(text).map_err(|e| anyhow::anyhow!("{e}"))
}

struct Create {
    signer: Arc<KeyPair>,
    personal_key: Arc<crate::personal::sealed::MasterKey>,
    username: Username,
    role: Role,
    party_id: Option<String>,
    display_name: Option<String>,
    password: Password,
}

impl StoreJob for Create {
    type Output = anyhow::Result<Uuid>;

    async fn run<S: Store>(self, store: S) -> anyhow::Result<Uuid> {
        let party_id = match &self.party_id {
            Some(text) => Some(
                access::resolve_party(&store, self.role, text)
                    .await
                    .map_err(|e| anyhow::anyhow!("--party-id: {e}"))?,
            ),
            None => None,
        };
        let (writer, task) = super::start_writer_with(
            &store,
            self.signer.clone(),
            Default::default(),
            Some(self.personal_key.clone()),
        )
        .await?;
        let by = crate::service::commands::Envelope::new(
            super::cli_actor(),
            format!("cli:create-user:{}", self.username),
        );
        let new_user = access::NewUser {
            username: self.username,
            role: self.role,
            party_id,
            display_name: self.display_name,
        };
        let result = access::create_user(&store, &writer, by, new_user, &self.password).await;
        drop(writer);
        task.await?;
        result.map_err(|e| anyhow::anyhow!("{e}"))
    }
}
