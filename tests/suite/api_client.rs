//! An in-process API client and a seeded world of users, one per role.

use std::collections::HashMap;
use std::sync::Arc;
use voucher_ledger::service::commands::{ActivateIssuerKey, CreateUser};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;
use voucher_ledger::domain::{Password, Principal, Role, Username};
use voucher_ledger::http::{ApiConfig, AppState, router};
use voucher_ledger::ledger::checkpoint::KeyPair;
use voucher_ledger::service::access;
use voucher_ledger::service::commands::{Command, Submission};
use voucher_ledger::service::issuer_keyring::IssuerKeyring;
use voucher_ledger::service::{WriterConfig, WriterHandle};
use voucher_ledger::store::Store;

use voucher_ledger::service::engine::{self, publish_ledger_key};

/// How a request authenticates.
#[derive(Clone)]
pub enum As {
    Nobody,
    Bearer(String),
    /// Session cookie, with the CSRF token to send (or not).
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts an error reply with this status and stable code.
    #[track_caller]
    /// The codes of `error.reasons`, in order.
    pub fn reason_codes(&self) -> Vec<&str> {
        self.body["error"]["reasons"]
            .as_array()
            .map(|reasons| reasons.iter().filter_map(|r| r["code"].as_str()).collect())
            .unwrap_or_default()
    }

    pub fn expect_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "{:?}",
            self.body
        );
    }
}

#[derive(Clone)]
pub struct Api {
    pub router: Router,
}

impl Api {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        who: &As,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        match who {
            As::Nobody => {}
            As::Bearer(token) => {
                request = request.header("authorization", format!("Bearer {token}"))
            }
            As::Session { cookie, csrf } => {
                request = request.header("cookie", format!("vl_session={cookie}"));
                if let Some(csrf) = csrf {
                    request = request.header("x-csrf-token", csrf);
                }
            }
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        self.raw(request).await
    }

    /// Sends a prepared request (for bodies that are not JSON).
    pub async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A GET whose body is not JSON (files): status, headers and bytes.
    pub async fn download(&self, path: &str, who: &As) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let As::Bearer(token) = who {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 256 * 1024 * 1024)
            .await
            .unwrap();
        (status, headers, bytes.to_vec())
    }

    /// A mutating request with a non-JSON body.
    pub async fn post_bytes(
        &self,
        path: &str,
        who: &As,
        content_type: &str,
        body: Vec<u8>,
        key: &str,
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", content_type)
            .header("idempotency-key", key);
        if let As::Bearer(token) = who {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.raw(request.body(Body::from(body)).unwrap()).await
    }

    pub async fn get(&self, path: &str, who: &As) -> Reply {
        self.send("GET", path, who, None, None).await
    }

    /// A mutating JSON request with an Idempotency-Key.
    pub async fn post(&self, path: &str, who: &As, body: Value, key: &str) -> Reply {
        self.send("POST", path, who, Some(body), Some(key)).await
    }

    /// One login attempt.
    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        let body = serde_json::json!({"username": username, "password": password});
        self.send("POST", "/api/v1/session", &As::Nobody, Some(body), None)
            .await
    }

    /// Logs in and returns the session cookie value and CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> (String, String) {
        let reply = self.try_login(username, password).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let cookie = reply.headers["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let value = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("vl_session=")
            .to_string();
        (
            value,
            reply.body["csrf_token"].as_str().unwrap().to_string(),
        )
    }
}

/// Creates a user through the writer directly. The seeded provider and
/// enterprise users of `World::new` work for parties that are not in the
/// registry (most tests need only their role), which `access::create_user`
/// — the API's and the CLI's path — refuses.
async fn seed_user(
    writer: &WriterHandle,
    key: &str,
    username: &str,
    role: Role,
    party_id: Option<Uuid>,
    password: &str,
    display_name: Option<&str>,
) -> Uuid {
    let user_id = Uuid::now_v7();
    let password_hash = access::hash_password(&Password::new(password.into()).unwrap())
        .await
        .unwrap();
    writer
        .submit(Submission {
            actor: "test:seed".into(),
            idempotency_key: format!("seed:{key}"),
            command: Command::CreateUser(CreateUser {
                user_id,
                username: Username::parse(username).unwrap(),
                role,
                party_id,
                display_name: display_name.map(str::to_string),
                password_hash,
            }),
        })
        .await
        .unwrap();
    user_id
}

/// A seeded user: id, password, and a live API token.
pub struct Seeded {
    pub id: Uuid,
    pub username: String,
    pub password: String,
    pub token: String,
    pub party_id: Option<Uuid>,
}

/// Users `admin`, `finance`, `provider_a`, `provider_b`, `enterprise_a`,
/// `enterprise_b`, `auditor`, each with a token, and the API over them.
pub struct World<S: Store> {
    pub api: Api,
    pub store: S,
    pub users: HashMap<&'static str, Seeded>,
    /// The writer the API submits to, for set-up the API cannot do
    /// (issuer keys are activated on the operator's side).
    pub writer: WriterHandle,
    /// The issuer private keys the server (writer and API) signs with.
    pub issuer_keys: Arc<IssuerKeyring>,
    /// The ledger key the writer signs checkpoints with.
    pub ledger_key: Arc<KeyPair>,
    /// The personal data master key of the writer and the API.
    pub personal_key: Arc<voucher_ledger::personal::sealed::MasterKey>,
}

/// The transparency log's origin in every test world.
pub const LOG_ORIGIN: &str = "test.example/voucher-ledger";

impl<S: Store> World<S> {
    pub async fn new(store: S) -> World<S> {
        World::with_issuer_keys(store, Arc::new(IssuerKeyring::default())).await
    }

    /// A world whose server (writer and API) holds `issuer_keys`, e.g. a
    /// ring with a key directory.
    pub async fn with_issuer_keys(store: S, issuer_keys: Arc<IssuerKeyring>) -> World<S> {
        let personal_key = Arc::new(voucher_ledger::personal::sealed::MasterKey::generate());
        let config = WriterConfig {
            issuer_keys: issuer_keys.clone(),
            log_origin: Some(LOG_ORIGIN.into()),
            personal_key: Some(personal_key.clone()),
            ..WriterConfig::default()
        };
        let ledger_key = Arc::new(KeyPair::generate());
        publish_ledger_key(&store, &ledger_key).await.unwrap();
        let (writer, _task) = engine::spawn(store.clone(), ledger_key.clone(), config);
        let mut users = HashMap::new();
        let seeds: [(&str, Role); 7] = [
            ("admin", Role::Admin),
            ("finance", Role::Finance),
            ("provider_a", Role::Provider),
            ("provider_b", Role::Provider),
            ("enterprise_a", Role::Enterprise),
            ("enterprise_b", Role::Enterprise),
            ("auditor", Role::Auditor),
        ];
        for (name, role) in seeds {
            let username = name.replace('_', "-");
            let password = format!("{username} password 123");
            let party_id = role.needs_party().then(Uuid::now_v7);
            let id = seed_user(&writer, name, &username, role, party_id, &password, None).await;
            let principal = Principal {
                user_id: id,
                username: Username::parse(&username).unwrap(),
                role,
                party_id,
                token_id: None,
            };
            let (_, secret) = access::create_token(
                &writer,
                &principal,
                format!("seed-token:{name}"),
                "seed".into(),
                30,
            )
            .await
            .unwrap();
            users.insert(
                name,
                Seeded {
                    id,
                    username,
                    password,
                    token: secret.text.expose().clone(),
                    party_id,
                },
            );
        }
        let api = Api {
            router: router(AppState::new(
                store.clone(),
                writer.clone(),
                ApiConfig {
                    issuer_keys: issuer_keys.clone(),
                    log_origin: LOG_ORIGIN.into(),
                    log_key: Some(ledger_key.public_key()),
                    personal_key: Some(personal_key.clone()),
                    ..ApiConfig::default()
                },
            )),
        };
        World {
            api,
            store,
            users,
            writer,
            ledger_key,
            issuer_keys,
            personal_key,
        }
    }

    /// `n` more ledger entries through the API (the admin's API tokens:
    /// cheap to create), under keys `{round}-{i}`.
    pub async fn add_entries(&self, round: &str, n: usize) {
        for i in 0..n {
            let body = serde_json::json!({"name": format!("t{i}"), "ttl_days": 1});
            let reply = self
                .api
                .post(
                    "/api/v1/me/tokens",
                    &self.bearer("admin"),
                    body,
                    &format!("{round}-{i}"),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        }
    }

    /// A further user (`name`, `role`, bound to `party_id`) with an API
    /// token, created through the writer.
    pub async fn add_user(&self, name: &str, role: Role, party_id: Option<Uuid>) -> As {
        self.add_named_user(name, None, role, party_id).await
    }

    /// `add_user` with a display name (the name documents sign with).
    pub async fn add_named_user(
        &self,
        name: &str,
        display_name: Option<&str>,
        role: Role,
        party_id: Option<Uuid>,
    ) -> As {
        let username = Username::parse(name).unwrap();
        let user_id = seed_user(
            &self.writer,
            name,
            name,
            role,
            party_id,
            "seeded user password 123",
            display_name,
        )
        .await;
        let principal = Principal {
            user_id,
            username,
            role,
            party_id,
            token_id: None,
        };
        let (_, secret) = access::create_token(
            &self.writer,
            &principal,
            format!("seed-token:{name}"),
            "seed".into(),
            1,
        )
        .await
        .unwrap();
        As::Bearer(secret.text.expose().clone())
    }

    /// Creates an issuer key, gives its private half to this world's
    /// server, and makes it the active key (as `keys rotate` does).
    pub async fn activate_issuer_key(&self) -> KeyPair {
        let issuer = KeyPair::generate();
        self.issuer_keys.add(issuer.signing_key().clone());
        self.writer
            .submit(Submission {
                actor: "test:ops".into(),
                idempotency_key: format!("activate:{}", issuer.key_id()),
                command: Command::ActivateIssuerKey(ActivateIssuerKey {
                    public_key: issuer.public_key().to_bytes(),
                }),
            })
            .await
            .unwrap();
        issuer
    }

    /// What `POST /api/v1/tokens/verify` (no login) reports on `token`.
    pub async fn verify(&self, token: &str) -> Value {
        let reply = self
            .api
            .send(
                "POST",
                "/api/v1/tokens/verify",
                &As::Nobody,
                Some(serde_json::json!({ "token": token })),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body
    }

    pub fn bearer(&self, name: &str) -> As {
        As::Bearer(self.users[name].token.clone())
    }

    /// The newest ledger entry, as the auditor sees it.
    pub async fn last_entry(&self) -> Value {
        let mut after = 0;
        let mut last = Value::Null;
        loop {
            let page = self
                .api
                .get(
                    &format!("/api/v1/ledger/entries?after={after}&limit=200"),
                    &self.bearer("auditor"),
                )
                .await;
            if let Some(entry) = page.body["entries"].as_array().and_then(|e| e.last()) {
                last = entry.clone();
            }
            match page.body["next_cursor"].as_u64() {
                Some(next) => after = next,
                None => return last,
            }
        }
    }

    /// How many ledger entries of `kind` exist.
    pub async fn count_entries(&self, kind: &str) -> usize {
        let mut count = 0;
        let mut next = 1;
        loop {
            let page = self.store.entries(next, 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            next = last.sequence + 1;
            count += page.iter().filter(|e| e.kind == kind).count();
        }
        count
    }
}
