//! The Merkle tree over the entries (issue 20), on both backends: kept in
//! step with the chain by every append, proofs from the stored nodes that
//! verify against roots recomputed from the entries alone, a ledger from
//! before the tree caught up at startup, and `verify` refusing a changed,
//! extra or missing node.

use serde_json::json;
use voucher_ledger::ledger::entry::Hash32;
use voucher_ledger::ledger::merkle::{self, Frontier};
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::store::Store;
use voucher_ledger::store::tree::{EntryLeaf, with_nodes};

use crate::api_client::World;
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    every_entry_is_a_leaf_and_every_proof_verifies,
    a_ledger_from_before_the_tree_is_caught_up_at_startup,
    verify_refuses_a_changed_extra_or_missing_tree_node,
);

/// `n` more entries (API tokens: cheap to create), keyed `{round}-{i}`.
async fn grow<S: Store>(world: &World<S>, round: &str, n: usize) {
    for i in 0..n {
        let reply = world
            .api
            .post(
                "/api/v1/me/tokens",
                &world.bearer("admin"),
                json!({"name": format!("t{i}"), "ttl_days": 1}),
                &format!("{round}-{i}"),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 201, "{:?}", reply.body);
    }
}

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
    grow(&world, "a", 40).await;
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
    grow(&world, "a", 10).await;
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
    grow(&world, "b", 3).await;
    assert_eq!(store.tree().await.unwrap().size(), size + 3);
    verify_store(store, &[]).await.expect("verify passes");
}

async fn verify_refuses_a_changed_extra_or_missing_tree_node<S: Store>(store: S, db: &TestDb) {
    let world = World::new(store).await;
    grow(&world, "a", 12).await;
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
