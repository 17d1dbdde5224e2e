//! The Merkle tree over every ledger entry (RFC 6962 / RFC 9162), the
//! structure behind the public transparency log (docs/transparency.md).
//!
//! The chain proves order to whoever holds the whole database; the tree
//! lets an outsider holding one signed root check one entry (an inclusion
//! proof) or that a later root extends an earlier one (a consistency
//! proof) with a logarithmic number of hashes. Pure: the store keeps the
//! hashes of complete subtrees (`NodeId`), this module says which ones a
//! proof needs and computes everything from them.

use sha2::{Digest, Sha256};

use super::entry::{Entry, Hash32};

/// First bytes of every leaf record: format and version.
pub const LEAF_MAGIC: &[u8; 4] = b"VLT1";

/// The leaf an entry contributes: `"VLT1" | u64 sequence | u8 kind length |
/// kind | entry hash[32]`, big-endian. It commits to the whole entry (the
/// entry hash covers body, postings and the link to the previous entry)
/// without publishing the body.
pub fn leaf_record(sequence: u64, kind: &str, entry_hash: &Hash32) -> Vec<u8> {
    let kind = kind.as_bytes();
    assert!(kind.len() <= usize::from(u8::MAX), "entry kinds are short");
    let mut out = Vec::with_capacity(4 + 8 + 1 + kind.len() + 32);
    out.extend_from_slice(LEAF_MAGIC);
    out.extend_from_slice(&sequence.to_be_bytes());
    out.push(kind.len() as u8);
    out.extend_from_slice(kind);
    out.extend_from_slice(entry_hash);
    out
}

/// The leaf hash an entry contributes to the tree.
pub fn entry_leaf(entry: &Entry) -> Hash32 {
    leaf_hash(&leaf_record(entry.sequence, &entry.kind, &entry.hash))
}

/// The fields of a leaf record, if `data` is one.
pub fn parse_leaf_record(data: &[u8]) -> Option<(u64, &str, Hash32)> {
    let rest = data.strip_prefix(LEAF_MAGIC.as_slice())?;
    let sequence = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let kind_len = usize::from(*rest.get(8)?);
    let kind = std::str::from_utf8(rest.get(9..9 + kind_len)?).ok()?;
    let hash: Hash32 = rest.get(9 + kind_len..)?.try_into().ok()?;
    Some((sequence, kind, hash))
}

/// SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash32 {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash32 {
    Sha256::digest([]).into()
}

/// A complete subtree: leaves `[index · 2^level, (index + 1) · 2^level)`.
/// Level 0 nodes are leaf hashes. What the store keeps, and what a
/// tlog-tiles tile of level L lists (nodes of level 8·L).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn new(level: u8, index: u64) -> NodeId {
        assert!(level < 64, "a tree of at most 2^63 leaves");
        NodeId { level, index }
    }
}

/// The right edge of a tree: the hashes of the complete subtrees that make
/// up a tree of `size` leaves (one per set bit of `size`, largest first).
/// Enough to append the next leaf and to compute the root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash32>,
}

impl Frontier {
    pub const EMPTY: Frontier = Frontier {
        size: 0,
        hashes: Vec::new(),
    };

    /// Rebuilds a frontier from its stored form; `None` unless `bytes`
    /// holds exactly one hash per set bit of `size`.
    pub fn decode(size: u64, bytes: &[u8]) -> Option<Frontier> {
        if bytes.len() != 32 * size.count_ones() as usize {
            return None;
        }
        let hashes = bytes
            .chunks_exact(32)
            .map(|chunk| chunk.try_into().expect("32-byte chunks"))
            .collect();
        Some(Frontier { size, hashes })
    }

    /// The hashes, concatenated (largest subtree first).
    pub fn encode(&self) -> Vec<u8> {
        self.hashes.concat()
    }

    /// The frontier of a tree of `size` leaves from the store's nodes.
    pub fn of_size(size: u64, node: &mut dyn FnMut(NodeId) -> Hash32) -> Frontier {
        let hashes = frontier_nodes(size).into_iter().map(node).collect();
        Frontier { size, hashes }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the complete subtrees it completes (the
    /// leaf itself first, then each parent it finishes), which the store
    /// keeps.
    pub fn push(&mut self, leaf: Hash32) -> Vec<(NodeId, Hash32)> {
        let n = self.size;
        let mut nodes = vec![(NodeId::new(0, n), leaf)];
        let mut carry = leaf;
        let mut level = 0u8;
        while (n >> level) & 1 == 1 {
            let left = self.hashes.pop().expect("a set bit has its subtree");
            carry = node_hash(&left, &carry);
            level += 1;
            nodes.push((NodeId::new(level, n >> level), carry));
        }
        self.hashes.push(carry);
        self.size = n + 1;
        debug_assert_eq!(self.hashes.len(), self.size.count_ones() as usize);
        nodes
    }

    /// The tree's root hash (RFC 9162 MTH).
    pub fn root(&self) -> Hash32 {
        let mut hashes = self.hashes.iter().rev();
        let Some(last) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// The complete subtrees making up a tree of `size` leaves, largest first.
pub fn frontier_nodes(size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        if size >> level & 1 == 1 {
            nodes.push(NodeId::new(level, start >> level));
            start += 1 << level;
        }
    }
    nodes
}

/// The largest power of two strictly less than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[lo:hi]) from complete subtrees. In every range the RFC's
/// recursions ask for, `lo` is a multiple of the left part's size, so the
/// left part is one stored node and only the right edge recurses.
fn range_hash(lo: u64, hi: u64, node: &mut dyn FnMut(NodeId) -> Hash32) -> Hash32 {
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return node(NodeId::new(n.trailing_zeros() as u8, lo / n));
    }
    let k = split(n);
    let left = range_hash(lo, lo + k, node);
    let right = range_hash(lo + k, hi, node);
    node_hash(&left, &right)
}

/// The root of the tree's first `size` leaves.
pub fn root_of(size: u64, node: &mut dyn FnMut(NodeId) -> Hash32) -> Hash32 {
    if size == 0 {
        return empty_root();
    }
    range_hash(0, size, node)
}

/// RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of `size`
/// leaves, the leaf's sibling first. `index < size`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    node: &mut dyn FnMut(NodeId) -> Hash32,
) -> Vec<Hash32> {
    assert!(index < size, "the leaf is in the tree");
    let mut proof = Vec::new();
    path(index, 0, size, node, &mut proof);
    proof
}

fn path(m: u64, lo: u64, hi: u64, node: &mut dyn FnMut(NodeId) -> Hash32, out: &mut Vec<Hash32>) {
    let n = hi - lo;
    if n == 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, lo, lo + k, node, out);
        out.push(range_hash(lo + k, hi, node));
    } else {
        path(m - k, lo + k, hi, node, out);
        out.push(range_hash(lo, lo + k, node));
    }
}

/// RFC 9162 §2.1.4.1: the proof that the tree of `old` leaves is a prefix
/// of the tree of `new` leaves. Empty when `old` is 0 or equals `new`.
pub fn consistency_proof(
    old: u64,
    new: u64,
    node: &mut dyn FnMut(NodeId) -> Hash32,
) -> Vec<Hash32> {
    assert!(old <= new, "a tree only grows");
    let mut proof = Vec::new();
    if old > 0 && old < new {
        subproof(old, 0, new, true, node, &mut proof);
    }
    proof
}

fn subproof(
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    node: &mut dyn FnMut(NodeId) -> Hash32,
    out: &mut Vec<Hash32>,
) {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(range_hash(lo, hi, node));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, whole, node, out);
        out.push(range_hash(lo + k, hi, node));
    } else {
        subproof(m - k, lo + k, hi, false, node, out);
        out.push(range_hash(lo, lo + k, node));
    }
}

/// The nodes a computation over stored nodes reads, in first-use order
/// without repeats: run it once with this, fetch them, run it again.
pub fn nodes_read<T>(run: impl FnOnce(&mut dyn FnMut(NodeId) -> Hash32) -> T) -> Vec<NodeId> {
    let mut ids = Vec::new();
    let mut record = |id: NodeId| {
        if !ids.contains(&id) {
            ids.push(id);
        }
        [0u8; 32]
    };
    run(&mut record);
    ids
}

/// Step 4.b.ii of RFC 9162's verifications: right-shift both until
/// `fn_` is odd or 0.
fn shift_to_a_right_child(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// RFC 9162 §2.1.3.2: does `proof` show the leaf with hash `leaf` at
/// `index` in the tree of `size` leaves with root `root`?
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash32,
    proof: &[Hash32],
    root: &Hash32,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            shift_to_a_right_child(&mut fn_, &mut sn);
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: does `proof` show that the tree of `old` leaves with
/// root `old_root` is a prefix of the tree of `new` leaves with root
/// `new_root`?
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash32,
    new_root: &Hash32,
    proof: &[Hash32],
) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash32> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_to_a_right_child(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *old_root && sr == *new_root && sn == 0
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The RFC's recursive definition, straight from the leaves.
    fn mth(leaves: &[Hash32]) -> Hash32 {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash32> {
        (0..n)
            .map(|i| leaf_hash(&leaf_record(i + 1, "journal", &[i as u8; 32])))
            .collect()
    }

    /// Appends `n` leaves; returns the stored nodes and the frontier.
    fn grown(n: u64) -> (HashMap<NodeId, Hash32>, Frontier) {
        let mut frontier = Frontier::EMPTY;
        let mut nodes = HashMap::new();
        for leaf in leaves(n) {
            for (id, hash) in frontier.push(leaf) {
                assert!(nodes.insert(id, hash).is_none(), "a node is stored once");
            }
        }
        (nodes, frontier)
    }

    #[test]
    fn the_frontier_root_and_the_stored_nodes_match_the_rfc_definition() {
        let (nodes, _) = grown(70);
        let all = leaves(70);
        let mut frontier = Frontier::EMPTY;
        for size in 0..=70u64 {
            assert_eq!(frontier.root(), mth(&all[..size as usize]), "size {size}");
            let mut read = |id: NodeId| nodes[&id];
            assert_eq!(root_of(size, &mut read), mth(&all[..size as usize]));
            assert_eq!(Frontier::of_size(size, &mut read), frontier);
            let encoded = frontier.encode();
            assert_eq!(Frontier::decode(size, &encoded).as_ref(), Some(&frontier));
            let longer = [encoded.clone(), vec![0; 32]].concat();
            assert_eq!(Frontier::decode(size, &longer), None);
            if let Some(leaf) = all.get(size as usize) {
                frontier.push(*leaf);
            }
        }
        // About two stored nodes per leaf.
        assert_eq!(nodes.len(), 70 + 69 - 70usize.count_ones() as usize + 1);
        // Every stored node is the MTH of its leaves.
        for (id, hash) in &nodes {
            let lo = (id.index << id.level) as usize;
            assert_eq!(*hash, mth(&all[lo..lo + (1 << id.level)]), "{id:?}");
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_and_no_other_does() {
        let (nodes, _) = grown(33);
        let all = leaves(33);
        for size in 1..=33u64 {
            let root = mth(&all[..size as usize]);
            for index in 0..size {
                let proof = inclusion_proof(index, size, &mut |id| nodes[&id]);
                let leaf = all[index as usize];
                assert!(verify_inclusion(index, size, &leaf, &proof, &root));
                let other = leaf_hash(b"not in the tree");
                assert!(!verify_inclusion(index, size, &other, &proof, &root));
                if let Some(wrong) = (0..size).find(|&i| i != index) {
                    assert!(!verify_inclusion(wrong, size, &leaf, &proof, &root));
                }
                let mut bent = proof.clone();
                if let Some(first) = bent.first_mut() {
                    first[0] ^= 1;
                    assert!(!verify_inclusion(index, size, &leaf, &bent, &root));
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_rewritten_history_does_not() {
        let (nodes, _) = grown(40);
        let all = leaves(40);
        for new in 0..=40u64 {
            let new_root = mth(&all[..new as usize]);
            for old in 0..=new {
                let old_root = mth(&all[..old as usize]);
                let proof = consistency_proof(old, new, &mut |id| nodes[&id]);
                assert!(
                    verify_consistency(old, new, &old_root, &new_root, &proof),
                    "{old} → {new}"
                );
                if old > 0 && old < new {
                    // Another history of the same old size.
                    let mut other = all[..old as usize].to_vec();
                    other[0][0] ^= 1;
                    assert!(!verify_consistency(
                        old,
                        new,
                        &mth(&other),
                        &new_root,
                        &proof
                    ));
                    let mut bent = proof.clone();
                    bent[0][5] ^= 1;
                    assert!(!verify_consistency(old, new, &old_root, &new_root, &bent));
                }
            }
        }
    }

    #[test]
    fn a_proof_reads_a_logarithmic_number_of_stored_nodes() {
        let size = 1_000_000u64;
        let ids = nodes_read(|node| inclusion_proof(123_456, size, node));
        assert!(ids.len() <= 2 * 20, "{}", ids.len());
        let ids = nodes_read(|node| consistency_proof(999_999, size, node));
        assert!(ids.len() <= 2 * 20, "{}", ids.len());
        assert_eq!(frontier_nodes(size).len(), size.count_ones() as usize);
    }

    #[test]
    fn a_leaf_record_round_trips_and_refuses_other_bytes() {
        let record = leaf_record(998, "voucher_redeemed", &[7; 32]);
        // The example of docs/transparency.md.
        assert_eq!(record.len(), 61);
        assert_eq!(&record[..13], b"VLT1\0\0\0\0\0\0\x03\xe6\x10");
        assert_eq!(
            parse_leaf_record(&record),
            Some((998, "voucher_redeemed", [7; 32]))
        );
        assert_eq!(parse_leaf_record(&record[..record.len() - 1]), None);
        assert_eq!(parse_leaf_record(b"VLT2"), None);
    }
}
