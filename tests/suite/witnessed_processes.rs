//! The transparency log across processes (issue 20's process test): two
//! `serve` instances on one database, each signing tree checkpoints every
//! second and pushing them to one `witness serve` process, while firms
//! claim vouchers and a provider redeems them on both instances at once.
//! Every checkpoint either instance publishes at `/log/checkpoint` during
//! the load is signed by the log, cosigned by the witness, and consistent
//! with the one published before it; the last covers every acknowledged
//! write, and `verify --witness-key` passes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;
use voucher_ledger::ledger::checkpoint::KeyPair;
use voucher_ledger::ledger::entry::Hash32;
use voucher_ledger::ledger::note::{self, TreeHead};
use voucher_ledger::ledger::{cosignature, merkle};

use crate::helpers::TestDb;
use crate::processes::{
    on_both_databases, run, send_at_once, serve, start_witness, stop_both_and_verify,
};
use crate::redemption_processes::{claims_url, contract, prepare_on};

const ORIGIN: &str = "test.example/two-instances";
const WITNESS: &str = "audit.test/process-witness";
/// Firms that claim (and then have their voucher redeemed) under load.
const FIRMS: usize = 48;
/// Waves of claims and redemptions, each a little over a second apart.
const WAVES: usize = 4;

on_both_databases!(
    two_instances_and_a_witness,
    every_published_checkpoint_is_cosigned_and_extends_the_last
);

/// Reads `/log/checkpoint` from both instances, over and over, until told
/// to stop: every distinct checkpoint seen, by tree size.
fn watch(
    bases: [String; 2],
    seen: Arc<Mutex<BTreeMap<u64, String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        for round in 0usize.. {
            let base = &bases[round % 2];
            if let Ok(reply) = client.get(format!("{base}/log/checkpoint")).send().await
                && reply.status().as_u16() == 200
            {
                let text = reply.text().await.unwrap();
                let parsed = note::parse(&text).expect("a published checkpoint is a signed note");
                let head = TreeHead::parse(&parsed.text).unwrap();
                let mut seen = seen.lock().unwrap();
                if let Some(before) = seen.get(&head.size) {
                    // One size, one root, whichever instance published it.
                    let earlier = TreeHead::parse(&note::parse(before).unwrap().text).unwrap();
                    assert_eq!(earlier.root, head.root, "two roots for size {}", head.size);
                }
                seen.insert(head.size, text);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn hashes(proof: &serde_json::Value) -> Vec<Hash32> {
    proof
        .as_array()
        .unwrap()
        .iter()
        .map(|hash| {
            BASE64
                .decode(hash.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

async fn every_published_checkpoint_is_cosigned_and_extends_the_last(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let counter = prepare_on(db, dir.path(), FIRMS).await;
    // The instances' ledger key, made here so the witness can be told it.
    let log_key = KeyPair::generate();
    voucher_ledger::keyfile::write_new(&dir.path().join("data/ledger-signing-key"), &log_key)
        .unwrap();
    let log_vkey = note::vkey(ORIGIN, &log_key.public_key());
    let (mut witness, target) = start_witness(dir.path(), WITNESS, &log_vkey).await;
    let witness_vkey = target.split_once(' ').unwrap().1.to_string();
    let (_, witness_key) = cosignature::parse_witness_vkey(&witness_vkey).unwrap();
    let args = [
        "--database-url",
        db.url(),
        "--log-origin",
        ORIGIN,
        "--witness",
        &target,
        "--checkpoint-seconds",
        "1",
    ];
    let (mut a, base_a) = serve(dir.path(), &args).await;
    let (mut b, base_b) = serve(dir.path(), &args).await;
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let watcher = watch([base_a.clone(), base_b.clone()], seen.clone());

    // Load, in waves a little longer than the checkpoint interval: a
    // wave's firms claim at once, half on each instance; then the provider
    // redeems their vouchers at once, on both.
    let client = reqwest::Client::new();
    let base_of = |n: usize| {
        if n.is_multiple_of(2) {
            &base_a
        } else {
            &base_b
        }
    };
    for wave in counter.claimants.chunks(FIRMS / WAVES).enumerate() {
        let (wave, firms) = wave;
        let started = Instant::now();
        let claims = firms.iter().enumerate().map(|(n, firm)| {
            client
                .post(claims_url(base_of(n)))
                .bearer_auth(&firm.token)
                .header("idempotency-key", format!("claim-{wave}-{n}"))
                .json(&json!({}))
        });
        let mut tokens = Vec::new();
        for (status, body) in send_at_once(claims.collect()).await {
            assert_eq!(status, 201, "{body}");
            tokens.push(body["token"].as_str().unwrap().to_string());
        }
        let redemptions = tokens.iter().enumerate().map(|(n, token)| {
            client
                .post(format!("{}/api/v1/redemptions", base_of(n + 1)))
                .bearer_auth(&counter.staff_token)
                .header("idempotency-key", format!("redeem-{wave}-{n}"))
                .json(&contract(token, &format!("HT-W-{wave}-{n}")))
        });
        for (status, body) in send_at_once(redemptions.collect()).await {
            assert_eq!(status, 201, "{body}");
        }
        let wave_time = Duration::from_millis(1_300);
        tokio::time::sleep(wave_time.saturating_sub(started.elapsed())).await;
    }

    // The whole ledger gets a published, cosigned checkpoint: the size to
    // wait for is the chain as it is now (nothing else writes), counted by
    // `verify` next to the running instances.
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "{out}");
    let entries: u64 = out
        .strip_prefix("ok: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("verify's count: {out}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().keys().next_back().copied() != Some(entries) {
        assert!(
            Instant::now() < deadline,
            "no published checkpoint of all {entries} entries: {:?}",
            seen.lock().unwrap().keys().collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watcher.abort();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.len() >= WAVES - 1,
        "checkpoints published while the load ran: {:?}",
        seen.keys()
    );

    // Each one: the log's signature and the witness's cosignature; each
    // extends the one before it (proof from the service, roots from the
    // notes).
    let mut previous: Option<TreeHead> = None;
    for text in seen.values() {
        let signed = note::parse(text).unwrap();
        let head = TreeHead::parse(&signed.text).unwrap();
        assert_eq!(head.origin, ORIGIN);
        assert!(signed.signed_by(ORIGIN, &log_key.public_key()), "{text}");
        assert!(
            cosignature::cosigned_at(&signed, WITNESS, &witness_key).is_some(),
            "published without the witness's cosignature:\n{text}"
        );
        if let Some(before) = &previous {
            let proof: serde_json::Value = client
                .get(format!(
                    "{base_b}/api/v1/log/consistency?from={}&to={}",
                    before.size, head.size
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(
                merkle::verify_consistency(
                    before.size,
                    head.size,
                    &before.root,
                    &head.root,
                    &hashes(&proof["proof"]),
                ),
                "{} does not extend {}",
                head.size,
                before.size
            );
        }
        previous = Some(head);
    }

    stop_both_and_verify(&mut a, &mut b, dir.path(), db).await;
    witness.kill().await.unwrap();
    let witness_key_arg = format!("--witness-key={witness_vkey}");
    let (code, out) = run(
        dir.path(),
        &["verify", "--database-url", db.url(), &witness_key_arg],
    )
    .await;
    assert_eq!(code, 0, "{out}");
}
