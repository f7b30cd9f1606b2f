//! Merkle tree hashing of RFC 9162 §2.1 (the same tree as RFC 6962 §2.1), with SHA-256: the
//! tree behind the audit log's signed checkpoints (issue 15), in the form the C2SP
//! tlog-checkpoint's root hash names.
//!
//! Leaves and nodes are hashed with different one-byte prefixes (§2.1.1: `0x00` for a leaf,
//! `0x01` for an interior node), so a leaf can never be passed off as a subtree. Every
//! function here takes leaf *hashes* (`leaf_hash` of an entry), so the audit layer decides
//! what bytes an entry is; this module only knows the tree.
//!
//! Proofs are generated from the whole leaf list (the audit log has them at hand); the
//! verifiers need only the sizes, the roots and the proof, so an auditor can check one
//! entry's inclusion (§2.1.3) or the append-only growth between two checkpoints (§2.1.4)
//! without the rest of the log.

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// RFC 9162 §2.1.1: the hash of an empty tree, `MTH({}) = SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// RFC 9162 §2.1.1: the hash of a one-entry tree, `MTH({d(0)}) = SHA-256(0x00 || d(0))`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// RFC 9162 §2.1.1: an interior node, `SHA-256(0x01 || MTH(left) || MTH(right))`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The tree hash of all leaves pushed so far, computed as they stream by, in O(log n) memory.
///
/// It keeps the roots of the complete subtrees the leaves so far form (one per set bit of
/// the size, largest first, as RFC 9162 §2.1.1 splits a tree at the largest power of two
/// below its size); pushing a leaf merges equal-sized neighbours, one node hash per merge
/// (one on average), and `root` folds the stack from the right.
#[derive(Debug, Clone, Default)]
pub struct TreeBuilder {
    /// Roots of complete subtrees, left to right, strictly decreasing in size.
    stack: Vec<Hash>,
    size: u64,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> TreeBuilder {
        TreeBuilder::default()
    }

    /// Appends one leaf hash (`leaf_hash` of the entry).
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        // Each trailing 1 bit of the old size is a complete subtree of the new leaf's
        // height, waiting for a right sibling.
        let mut carry = self.size;
        while carry & 1 == 1 {
            let Some(left) = self.stack.pop() else { break };
            node = node_hash(&left, &node);
            carry >>= 1;
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// How many leaves were pushed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// RFC 9162 §2.1.1: `MTH` of the leaves pushed so far (`empty_root()` for none).
    pub fn root(&self) -> Hash {
        let mut nodes = self.stack.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// RFC 9162 §2.1.1: `MTH(D[n])` of `leaves` (leaf hashes, in order).
pub fn root(leaves: &[Hash]) -> Hash {
    let mut tree = TreeBuilder::new();
    for leaf in leaves {
        tree.push(*leaf);
    }
    tree.root()
}

/// RFC 9162 §2.1.1: the largest power of two smaller than `n` (`n > 1`), where a tree splits.
fn split_point(n: usize) -> usize {
    debug_assert!(n > 1);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// RFC 9162 §2.1.3.1: the inclusion proof `PATH(index, D[n])` of leaf `index` in the tree of
/// all `leaves`, from the leaf's sibling up. Empty for a one-leaf tree, and for an `index`
/// outside the tree (no proof verifies that: `verify_inclusion` refuses `index >= size`).
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Vec<Hash> {
    let mut proof = Vec::new();
    if let Ok(index) = usize::try_from(index)
        && index < leaves.len()
    {
        path(index, leaves, &mut proof);
    }
    proof
}

/// `PATH(m, D[n])` of RFC 9162 §2.1.3.1, appending to `proof` (deepest node first).
fn path(m: usize, leaves: &[Hash], proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return; // PATH(0, {d(0)}) = {}
    }
    let k = split_point(n);
    if m < k {
        // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
        path(m, &leaves[..k], proof);
        proof.push(root(&leaves[k..]));
    } else {
        // PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
        path(m - k, &leaves[k..], proof);
        proof.push(root(&leaves[..k]));
    }
}

/// RFC 9162 §2.1.3.2: whether `proof` shows `leaf` (a leaf hash) at `index` in the tree of
/// `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    // Step 1: the index must be inside the tree.
    if index >= size {
        return false;
    }
    // Steps 2-3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return false; // 4a: a longer path than the tree is high.
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            // On the right border: skip the levels where this node has no right sibling.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5: the path must have reached the top, at the expected root.
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.1: the consistency proof `PROOF(old_size, D[n])` that the tree of the
/// first `old_size` leaves is a prefix of the tree of all `leaves`. Empty when the sizes are
/// equal, and when the RFC defines no proof (`old_size` 0 or larger than `leaves`).
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Vec<Hash> {
    let mut proof = Vec::new();
    if let Ok(m) = usize::try_from(old_size)
        && m > 0
        && m < leaves.len()
    {
        subproof(m, leaves, true, &mut proof);
    }
    proof
}

/// `SUBPROOF(m, D[n], b)` of RFC 9162 §2.1.4.1, appending to `proof`.
fn subproof(m: usize, leaves: &[Hash], b: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
        if !b {
            proof.push(root(leaves));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        // SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
        subproof(m, &leaves[..k], b, proof);
        proof.push(root(&leaves[k..]));
    } else {
        // SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
        subproof(m - k, &leaves[k..], false, proof);
        proof.push(root(&leaves[..k]));
    }
}

/// RFC 9162 §2.1.4.2: whether `proof` shows the tree of `old_size` leaves with root `old_root`
/// to be a prefix of the tree of `new_size` leaves with root `new_root` (append-only growth).
///
/// Equal sizes need an empty proof and equal roots. An `old_size` of 0 is refused, as the RFC
/// defines the proof only for `0 < old_size` and the reference implementation's vectors
/// expect: the empty tree is a prefix of every tree, so there is nothing to prove, and a
/// caller comparing with an empty first checkpoint checks `old_root == empty_root()` itself.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    // Step 1: an empty path proves nothing.
    if proof.is_empty() {
        return false;
    }
    // Step 2: a first tree whose size is a power of two is a complete subtree of the second,
    // so the proof leaves its root out; prepend it.
    let path: Vec<&Hash> = if old_size.is_power_of_two() {
        std::iter::once(old_root).chain(proof).collect()
    } else {
        proof.iter().collect()
    };
    // Step 3.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // Step 4: skip the levels where the first tree's last node is a right child.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*path[0], *path[0]);
    // Step 6.
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    fr == *old_root && sr == *new_root && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recursive definition of RFC 9162 §2.1.1, as an oracle for the streaming builder.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn the_streaming_root_is_the_recursive_definition_at_every_size() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = TreeBuilder::new();
        assert_eq!(tree.root(), empty_root());
        for (i, leaf) in leaves.iter().enumerate() {
            tree.push(*leaf);
            assert_eq!(tree.size(), i as u64 + 1);
            assert_eq!(tree.root(), mth(&leaves[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn the_split_is_the_largest_power_of_two_below_n() {
        let cases = [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (70, 64)];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }
}
