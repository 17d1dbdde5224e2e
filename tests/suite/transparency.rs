//! The Merkle tree over the entries (issue 20), on both backends: kept in
//! step with the chain by every append, proofs from the stored nodes that
//! verify against roots recomputed from the entries alone, a ledger from
//! before the tree caught up at startup, and `verify` refusing a changed,
//! extra or missing node.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use voucher_ledger::ledger::entry::Hash32;
use voucher_ledger::ledger::merkle::{self, Frontier};
use voucher_ledger::ledger::note::{self, TreeHead};
use voucher_ledger::service::transparency::sign_log_checkpoint;
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::store::Store;
use voucher_ledger::store::tree::{EntryLeaf, with_nodes};

use crate::api_client::{As, LOG_ORIGIN, World};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    every_entry_is_a_leaf_and_every_proof_verifies,
    the_log_serves_its_key_checkpoint_tiles_and_proofs,
    verify_refuses_a_tree_checkpoint_the_entries_or_keys_do_not_back,
    a_ledger_from_before_the_tree_is_caught_up_at_startup,
    verify_refuses_a_changed_extra_or_missing_tree_node,
    the_writer_signs_the_tree_with_its_checkpoints,
);

/// The roots of every prefix of the ledger, from its entries alone.
async fn roots_from_entries<S: Store>(store: &S) -> Vec<Hash32> {
    let leaves = store.entry_leaves(1, 10_000).await.unwrap();
    let mut frontier = Frontier::EMPTY;
    let mut roots = vec![frontier.root()];
    for (at, leaf) in leaves.iter().enumerate() {
        assert_eq!(leaf.sequence, at as u64 + 1);
        frontier.push(leaf.leaf_hash());
        roots.push(frontier.root());
    }
    roots
}

async fn every_entry_is_a_leaf_and_every_proof_verifies<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    world.add_entries("a", 40).await;
    let store = &world.store;
    let size = store.head().await.unwrap().sequence;
    let tree = store.tree().await.unwrap();
    assert_eq!(tree.size(), size, "one leaf per entry");
    let roots = roots_from_entries(store).await;
    assert_eq!(tree.root(), roots[size as usize]);
    let leaves: Vec<EntryLeaf> = store.entry_leaves(1, 10_000).await.unwrap();
    // Every entry against every tree that holds it.
    for tree_size in 1..=size {
        let root = roots[tree_size as usize];
        let stored_root = with_nodes(store, |node| merkle::root_of(tree_size, node))
            .await
            .unwrap();
        assert_eq!(stored_root, root, "root of {tree_size}");
        for index in 0..tree_size {
            let proof = with_nodes(store, |node| {
                merkle::inclusion_proof(index, tree_size, node)
            })
            .await
            .unwrap();
            let leaf = leaves[index as usize].leaf_hash();
            assert!(
                merkle::verify_inclusion(index, tree_size, &leaf, &proof, &root),
                "entry {} in {tree_size}",
                index + 1
            );
        }
    }
    // Consistency between pairs of sizes (a fixed pseudo-random walk).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..150 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let new = 1 + state % size;
        let old = (state >> 20) % (new + 1);
        let proof = with_nodes(store, |node| merkle::consistency_proof(old, new, node))
            .await
            .unwrap();
        assert!(
            merkle::verify_consistency(
                old,
                new,
                &roots[old as usize],
                &roots[new as usize],
                &proof
            ),
            "{old} → {new}"
        );
    }
    verify_store(store, &[]).await.expect("verify passes");
}

async fn a_ledger_from_before_the_tree_is_caught_up_at_startup<S: Store>(store: S, db: &TestDb) {
    let world = World::new(store).await;
    world.add_entries("a", 10).await;
    let store = &world.store;
    let size = store.head().await.unwrap().sequence;
    let root = store.tree().await.unwrap().root();
    // What a database migrated to 0020 from an older ledger holds.
    db.tamper(
        &[
            "DELETE FROM merkle_nodes",
            "UPDATE ledger_head SET tree_size = 0, tree_frontier = $1",
        ],
        Some(Vec::new()),
    )
    .await;
    let refused = verify_store(store, &[]).await.unwrap_err().to_string();
    assert!(refused.contains("Merkle tree"), "{refused}");
    store.migrate().await.unwrap();
    let tree = store.tree().await.unwrap();
    assert_eq!((tree.size(), tree.root()), (size, root));
    verify_store(store, &[]).await.expect("verify passes");
    // Appends go on from the caught-up tree.
    world.add_entries("b", 3).await;
    assert_eq!(store.tree().await.unwrap().size(), size + 3);
    verify_store(store, &[]).await.expect("verify passes");
}

async fn verify_refuses_a_changed_extra_or_missing_tree_node<S: Store>(store: S, db: &TestDb) {
    let world = World::new(store).await;
    world.add_entries("a", 12).await;
    let store = &world.store;
    verify_store(store, &[]).await.expect("verify passes");
    let id = merkle::NodeId::new(1, 3);
    let original = store.tree_nodes(&[id]).await.unwrap()[0].1;
    let fails_with = |words: &'static str| async move {
        let refused = verify_store(store, &[]).await.unwrap_err().to_string();
        assert!(refused.contains(words), "{words}: {refused}");
    };
    db.tamper(
        &["UPDATE merkle_nodes SET hash = $1 WHERE level = 1 AND idx = 3"],
        Some(vec![7; 32]),
    )
    .await;
    fails_with("node (level 1, index 3)").await;
    db.tamper(
        &["UPDATE merkle_nodes SET hash = $1 WHERE level = 1 AND idx = 3"],
        Some(original.to_vec()),
    )
    .await;
    verify_store(store, &[]).await.expect("restored");
    db.tamper(
        &["INSERT INTO merkle_nodes (level, idx, hash) VALUES (40, 0, $1)"],
        Some(vec![1; 32]),
    )
    .await;
    fails_with("stores").await;
    db.tamper(&["DELETE FROM merkle_nodes WHERE level = 40"], None)
        .await;
    verify_store(store, &[]).await.expect("restored");
    db.tamper(
        &["DELETE FROM merkle_nodes WHERE level = 0 AND idx = 5"],
        None,
    )
    .await;
    fails_with("node (level 0, index 5) is missing").await;
}

fn hash(text: &serde_json::Value) -> Hash32 {
    BASE64
        .decode(text.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hashes(list: &serde_json::Value) -> Vec<Hash32> {
    list.as_array().unwrap().iter().map(hash).collect()
}

async fn the_log_serves_its_key_checkpoint_tiles_and_proofs<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let api = &world.api;
    let (status, _, _) = api.download("/log/checkpoint", &As::Nobody).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no checkpoint signed yet");
    world.add_entries("a", 280).await;
    let signed = sign_log_checkpoint(&world.store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap()
        .unwrap();
    let size = signed.tree_size;
    assert!(size > 256, "a full tile exists");
    let roots = roots_from_entries(&world.store).await;

    // The key and the checkpoint, with no login.
    let (status, headers, vkey) = api.download("/log/vkey", &As::Nobody).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let (name, key) = note::parse_vkey(std::str::from_utf8(&vkey).unwrap()).unwrap();
    assert_eq!(
        (name.as_str(), key),
        (LOG_ORIGIN, world.ledger_key.public_key())
    );
    let (status, headers, text) = api.download("/log/checkpoint", &As::Nobody).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-cache");
    let parsed = note::parse(std::str::from_utf8(&text).unwrap()).unwrap();
    assert!(parsed.signed_by(LOG_ORIGIN, &key));
    let head = TreeHead::parse(&parsed.text).unwrap();
    assert_eq!(
        (head.origin.as_str(), head.size, head.root),
        (LOG_ORIGIN, size, roots[size as usize])
    );

    // Tiles: the full first tile of leaf hashes, the partial rest, and the
    // entry bundles they hash; together they give the signed root.
    let (status, headers, full) = api.download("/log/tile/0/000", &As::Nobody).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(full.len(), 256 * 32);
    let rest = size - 256;
    let (status, _, partial) = api
        .download(&format!("/log/tile/0/001.p/{rest}"), &As::Nobody)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut leaf_hashes: Vec<Hash32> = full
        .chunks(32)
        .chain(partial.chunks(32))
        .map(|chunk| chunk.try_into().unwrap())
        .collect();
    assert_eq!(leaf_hashes.len() as u64, size);
    let mut records = Vec::new();
    for path in [
        "/log/tile/entries/000".to_string(),
        format!("/log/tile/entries/001.p/{rest}"),
    ] {
        let (status, _, bundle) = api.download(&path, &As::Nobody).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let mut at = 0;
        while at < bundle.len() {
            let length = usize::from(u16::from_be_bytes([bundle[at], bundle[at + 1]]));
            records.push(bundle[at + 2..at + 2 + length].to_vec());
            at += 2 + length;
        }
    }
    for (index, record) in records.iter().enumerate() {
        let (sequence, _, _) = merkle::parse_leaf_record(record).unwrap();
        assert_eq!(sequence, index as u64 + 1);
        assert_eq!(
            merkle::leaf_hash(record),
            leaf_hashes[index],
            "entry {sequence}"
        );
    }
    let mut frontier = Frontier::EMPTY;
    for leaf in leaf_hashes.drain(..) {
        frontier.push(leaf);
    }
    assert_eq!(frontier.root(), head.root, "the tiles give the signed root");
    // The level-1 tile 0 is the root of the first 256 leaves.
    let (status, _, level1) = api.download("/log/tile/1/000.p/1", &As::Nobody).await;
    assert_eq!(status, StatusCode::OK);
    let first_256 = with_nodes(&world.store, |node| merkle::root_of(256, node))
        .await
        .unwrap();
    assert_eq!(level1, first_256.to_vec());
    for missing in [
        "/log/tile/0/001",
        "/log/tile/0/002.p/1",
        "/log/tile/1/000",
        "/log/tile/9/000",
        "/log/tile/0/1",
        "/log/tile/entries/x000/001",
        // Indexes past 2^63 / 256 (and past u64): nothing, not a crash.
        "/log/tile/0/x036/x028/x797/x018/x963/968",
        "/log/tile/entries/x036/x028/x797/x018/x963/968",
        "/log/tile/entries/x072/x057/x594/x037/x927/935",
        "/log/tile/7/x999/x999/x999/x999/x999/x999/999",
    ] {
        let reply = api.get(missing, &As::Nobody).await;
        reply.expect_error(StatusCode::NOT_FOUND, "tile_not_found");
    }

    // Proofs: by default against the signed checkpoint, whose note comes along.
    let reply = api
        .get("/api/v1/log/inclusion?sequence=5", &As::Nobody)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let body = &reply.body;
    assert_eq!(body["tree_size"], size);
    assert_eq!(body["checkpoint"].as_str().unwrap(), signed.note);
    let leaf = BASE64.decode(body["leaf"].as_str().unwrap()).unwrap();
    assert_eq!(merkle::parse_leaf_record(&leaf).unwrap().0, 5);
    assert!(merkle::verify_inclusion(
        4,
        size,
        &merkle::leaf_hash(&leaf),
        &hashes(&body["proof"]),
        &head.root
    ));
    let reply = api
        .get("/api/v1/log/inclusion?sequence=5&tree_size=9", &As::Nobody)
        .await;
    assert!(reply.body["checkpoint"].is_null());
    assert!(merkle::verify_inclusion(
        4,
        9,
        &hash(&reply.body["leaf_hash"]),
        &hashes(&reply.body["proof"]),
        &roots[9]
    ));
    let reply = api
        .get("/api/v1/log/consistency?from=10", &As::Nobody)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(merkle::verify_consistency(
        10,
        size,
        &roots[10],
        &hash(&reply.body["to_root"]),
        &hashes(&reply.body["proof"])
    ));
    assert_eq!(hash(&reply.body["to_root"]), head.root);
    // The refused space.
    let beyond = format!("/api/v1/log/inclusion?sequence=1&tree_size={}", size + 1000);
    api.get(&beyond, &As::Nobody)
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "beyond_the_log");
    api.get("/api/v1/log/inclusion?sequence=9&tree_size=5", &As::Nobody)
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "tree_size_rejected");
    api.get("/api/v1/log/consistency?from=9&to=5", &As::Nobody)
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "tree_size_rejected");
    for bad in [
        "/api/v1/log/inclusion",
        "/api/v1/log/inclusion?sequence=1&voucher_id=0191e2a0-0000-7000-8000-000000000000",
        "/api/v1/log/inclusion?sequence=x",
        "/api/v1/log/inclusion?seq=1",
    ] {
        let reply = api.get(bad, &As::Nobody).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {:?}",
            reply.body
        );
    }
    api.get(
        "/api/v1/log/inclusion?voucher_id=0191e2a0-0000-7000-8000-000000000000",
        &As::Nobody,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "not_found");
    verify_store(&world.store, &[])
        .await
        .expect("verify passes");
}

async fn verify_refuses_a_tree_checkpoint_the_entries_or_keys_do_not_back<S: Store>(
    store: S,
    db: &TestDb,
) {
    let world = World::new(store).await;
    world.add_entries("a", 5).await;
    let signed = sign_log_checkpoint(&world.store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap()
        .unwrap();
    verify_store(&world.store, &[])
        .await
        .expect("verify passes");
    let size = signed.tree_size;
    // A note signed by a key the ledger does not know.
    let stranger = voucher_ledger::ledger::checkpoint::KeyPair::generate();
    let head = TreeHead::parse(&note::parse(&signed.note).unwrap().text).unwrap();
    let forged = note::sign(&head.text(), LOG_ORIGIN, stranger.signing_key()).render();
    // Notes hold no quote: safe as SQL literals.
    db.tamper(
        &[&format!("UPDATE log_checkpoints SET note = '{forged}'")],
        None,
    )
    .await;
    let refused = verify_store(&world.store, &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("tree checkpoint {size}: no ledger key signs it")),
        "{refused}"
    );
    // Signed by the ledger key, but over another root.
    let other = TreeHead {
        root: [3; 32],
        ..head.clone()
    };
    let wrong_root = note::sign(&other.text(), LOG_ORIGIN, world.ledger_key.signing_key()).render();
    db.tamper(
        &[&format!("UPDATE log_checkpoints SET note = '{wrong_root}'")],
        None,
    )
    .await;
    db.tamper(
        &["UPDATE log_checkpoints SET root_hash = $1"],
        Some(vec![3; 32]),
    )
    .await;
    let refused = verify_store(&world.store, &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("is not the entries'"), "{refused}");
}

async fn the_writer_signs_the_tree_with_its_checkpoints<S: Store>(store: S, _db: &TestDb) {
    use voucher_ledger::domain::{Redacted, Role, Username};
    use voucher_ledger::service::WriterConfig;
    use voucher_ledger::service::commands::{Command, CreateUser, Submission};
    let config = WriterConfig {
        checkpoint_every_entries: 4,
        log_origin: Some(LOG_ORIGIN.into()),
        ..WriterConfig::default()
    };
    let (writer, task) = crate::helpers::start_writer(&store, config).await;
    for i in 0..10 {
        let submission = Submission {
            actor: "test".into(),
            idempotency_key: format!("user-{i}"),
            command: Command::CreateUser(CreateUser {
                user_id: uuid::Uuid::now_v7(),
                username: Username::parse(&format!("user-{i}")).unwrap(),
                role: Role::Auditor,
                party_id: None,
                display_name: None,
                password_hash: Redacted::new("unused".into()),
            }),
        };
        writer.submit(submission).await.unwrap();
        if i == 4 {
            // Signed on the way (the writer's checkpoint at 4 entries), off
            // the writer's path: it appears while appends go on.
            let mut waited = 0;
            while store
                .latest_log_checkpoint(LOG_ORIGIN)
                .await
                .unwrap()
                .is_none()
            {
                assert!(waited < 200, "no tree checkpoint after 4 entries");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                waited += 1;
            }
        }
    }
    // The writer signs a last checkpoint, and waits for the tree's, as it stops.
    drop(writer);
    task.await.unwrap();
    let latest = store
        .latest_log_checkpoint(LOG_ORIGIN)
        .await
        .unwrap()
        .expect("signed");
    assert_eq!(latest.tree_size, 10);
    let head = TreeHead::parse(&note::parse(&latest.note).unwrap().text).unwrap();
    assert_eq!(
        (head.origin.as_str(), head.root),
        (LOG_ORIGIN, store.tree().await.unwrap().root())
    );
    // The one signed on the way is there too.
    let all = store.log_checkpoints_after(0, 100).await.unwrap();
    assert!(all.len() >= 2, "{all:?}");
    assert!(all[0].tree_size < 10, "{all:?}");
    verify_store(&store, &[]).await.expect("verify passes");
}
