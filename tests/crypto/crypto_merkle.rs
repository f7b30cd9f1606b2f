//! RFC 9162 §2.1 / RFC 6962 Merkle trees against published vectors and properties.
//!
//! Vectors (data only, no code) from the transparency-dev/merkle Go module (commit 417fb0c,
//! Apache-2.0), the reference implementation certificate transparency logs use:
//! - the 8-leaf reference tree of `testonly/constants.go` (leaf inputs, the root at every
//!   size 0..=8) and the hasher cases of `rfc6962/rfc6962_test.go`;
//! - the inclusion and consistency proofs of that tree from the classic CT vectors
//!   (`proof/verify_test.go` before commit bcba819);
//! - every inclusion and consistency probe of `testdata/` (happy paths and mutations, each
//!   with `wantErr`), bundled in `tests/fixtures/merkle-rfc6962/{inclusion,consistency}.json`
//!   with each probe's source file name.

use crate::crypto_fixture::read_json;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use timber::crypto::merkle::{
    self, Hash, TreeBuilder, consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn h(text: &str) -> Hash {
    hex(text).try_into().unwrap()
}

/// `testonly.LeafInputs()`.
fn leaf_inputs() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|t| hex(t))
    .collect()
}

fn reference_leaves() -> Vec<Hash> {
    leaf_inputs().iter().map(|d| leaf_hash(d)).collect()
}

/// `testonly.RootHashes()`: the root at each size 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn hashes_match_the_rfc6962_hasher_vectors() {
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        leaf_hash(b""),
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    assert_eq!(
        leaf_hash(b"L123456"),
        h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
    // Level 1 of the reference tree: node_hash of two leaf hashes (`NodeHashes()[1][0]`).
    let leaves = reference_leaves();
    assert_eq!(
        node_hash(&leaves[0], &leaves[1]),
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
    );
}

#[test]
fn roots_of_the_reference_tree_at_every_size() {
    let leaves = reference_leaves();
    let mut tree = TreeBuilder::new();
    for (size, want) in ROOTS.iter().enumerate() {
        assert_eq!(
            merkle::root(&leaves[..size]),
            h(want),
            "root at size {size}"
        );
        assert_eq!(tree.size(), size as u64);
        assert_eq!(tree.root(), h(want), "streamed root at size {size}");
        if size < leaves.len() {
            tree.push(leaves[size]);
        }
    }
}

/// (leaf index, tree size, proof): the CT inclusion vectors (1-based leaf numbers there).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof): the CT consistency vectors.
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

#[test]
fn inclusion_proofs_of_the_reference_tree_are_the_published_ones_and_verify() {
    let leaves = reference_leaves();
    for (index, size, want) in inclusion_vectors() {
        let tree = &leaves[..size as usize];
        assert_eq!(
            inclusion_proof(tree, index),
            want,
            "PATH({index}, D[{size}])"
        );
        let root = h(ROOTS[size as usize]);
        assert!(
            verify_inclusion(&leaves[index as usize], index, size, &want, &root),
            "leaf {index} of {size}"
        );
    }
}

#[test]
fn consistency_proofs_of_the_reference_tree_are_the_published_ones_and_verify() {
    let leaves = reference_leaves();
    for (old, new, want) in consistency_vectors() {
        let tree = &leaves[..new as usize];
        assert_eq!(consistency_proof(tree, old), want, "PROOF({old}, D[{new}])");
        let (old_root, new_root) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
        assert!(
            verify_consistency(old, new, &old_root, &new_root, &want),
            "{old} -> {new}"
        );
    }
}

fn b64(value: &serde_json::Value) -> Vec<u8> {
    STANDARD.decode(value.as_str().unwrap()).unwrap()
}

/// A probe value as a `Hash`. Some probes hold values of another length ("don't care",
/// garbage), which our typed verifiers cannot take: those are mapped to 32 bytes by SHA-256,
/// which keeps equal values equal and different ones different, as the probes need.
fn hash_of(value: &serde_json::Value) -> Hash {
    let bytes = b64(value);
    bytes
        .clone()
        .try_into()
        .unwrap_or_else(|_| leaf_hash(&bytes))
}

fn proof_of(probe: &serde_json::Value) -> Vec<Hash> {
    let proof = probe["proof"].as_array().cloned().unwrap_or_default();
    proof.iter().map(hash_of).collect()
}

#[test]
fn every_published_inclusion_probe_is_decided_as_the_reference_decides() {
    let probes = read_json("merkle-rfc6962/inclusion.json");
    let probes = probes.as_array().unwrap();
    assert_eq!(probes.len(), 98);
    for probe in probes {
        let file = probe["file"].as_str().unwrap();
        let want_ok = !probe["wantErr"].as_bool().unwrap();
        // The reference refuses a leaf hash of another length outright, as our type does.
        let leaf: Option<Hash> = b64(&probe["leafHash"]).try_into().ok();
        let ok = leaf.is_some_and(|leaf| {
            verify_inclusion(
                &leaf,
                probe["leafIdx"].as_u64().unwrap(),
                probe["treeSize"].as_u64().unwrap(),
                &proof_of(probe),
                &hash_of(&probe["root"]),
            )
        });
        assert_eq!(ok, want_ok, "{file}");
    }
}

#[test]
fn every_published_consistency_probe_is_decided_as_the_reference_decides() {
    let probes = read_json("merkle-rfc6962/consistency.json");
    let probes = probes.as_array().unwrap();
    assert_eq!(probes.len(), 98);
    for probe in probes {
        let file = probe["file"].as_str().unwrap();
        let want_ok = !probe["wantErr"].as_bool().unwrap();
        let ok = verify_consistency(
            probe["size1"].as_u64().unwrap(),
            probe["size2"].as_u64().unwrap(),
            &hash_of(&probe["root1"]),
            &hash_of(&probe["root2"]),
            &proof_of(probe),
        );
        assert_eq!(ok, want_ok, "{file}");
    }
}

#[test]
fn a_builder_streams_a_large_log_and_answers_at_any_size() {
    let leaves: Vec<Hash> = (0u32..5000).map(|i| leaf_hash(&i.to_le_bytes())).collect();
    let mut tree = TreeBuilder::new();
    for (i, leaf) in leaves.iter().enumerate() {
        tree.push(*leaf);
        if [1, 2, 3, 1023, 1024, 1025, 4999].contains(&i) {
            assert_eq!(tree.root(), merkle::root(&leaves[..=i]), "size {}", i + 1);
        }
    }
    assert_eq!(tree.size(), 5000);
}

#[test]
fn proofs_for_sizes_the_rfc_does_not_define_are_empty_and_never_verify() {
    let leaves = reference_leaves();
    assert!(inclusion_proof(&leaves, 8).is_empty());
    assert!(!verify_inclusion(
        &leaves[0],
        8,
        8,
        &[],
        &merkle::root(&leaves)
    ));
    assert!(consistency_proof(&leaves, 0).is_empty());
    assert!(consistency_proof(&leaves, 9).is_empty());
    let root = merkle::root(&leaves);
    assert!(!verify_consistency(0, 8, &empty_root(), &root, &[]));
    assert!(!verify_consistency(9, 8, &root, &root, &[]));
}

fn flip(hash: &mut Hash, byte: usize) {
    hash[byte % 32] ^= 0x01;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_generated_inclusion_proof_verifies_and_a_flipped_byte_fails(
        size in 1usize..=70,
        pick in any::<prop::sample::Index>(),
        byte in 0usize..32,
        which in any::<prop::sample::Index>(),
    ) {
        let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect();
        let root = merkle::root(&leaves);
        let index = pick.index(size);
        for i in 0..size {
            let proof = inclusion_proof(&leaves, i as u64);
            prop_assert!(verify_inclusion(&leaves[i], i as u64, size as u64, &proof, &root));
        }
        let proof = inclusion_proof(&leaves, index as u64);
        let i = index as u64;
        let n = size as u64;
        // A flipped byte in the leaf, the root or any proof node fails.
        let mut leaf = leaves[index];
        flip(&mut leaf, byte);
        prop_assert!(!verify_inclusion(&leaf, i, n, &proof, &root));
        let mut bad_root = root;
        flip(&mut bad_root, byte);
        prop_assert!(!verify_inclusion(&leaves[index], i, n, &proof, &bad_root));
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = which.index(bad.len());
            flip(&mut bad[at], byte);
            prop_assert!(!verify_inclusion(&leaves[index], i, n, &bad, &root));
        }
        // The same proof at another index fails (each leaf has its own path to the root).
        if size > 1 {
            let other = (index + 1) % size;
            prop_assert!(!verify_inclusion(&leaves[index], other as u64, n, &proof, &root));
        }
    }

    #[test]
    fn every_generated_consistency_proof_verifies_and_a_flipped_byte_fails(
        size in 1usize..=70,
        byte in 0usize..32,
        which in any::<prop::sample::Index>(),
    ) {
        let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect();
        let new_root = merkle::root(&leaves);
        let n = size as u64;
        for old in 1..=size {
            let old_root = merkle::root(&leaves[..old]);
            let m = old as u64;
            let proof = consistency_proof(&leaves, m);
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &proof), "{} -> {}", old, size);
            let mut bad_old = old_root;
            flip(&mut bad_old, byte);
            prop_assert!(!verify_consistency(m, n, &bad_old, &new_root, &proof));
            let mut bad_new = new_root;
            flip(&mut bad_new, byte);
            prop_assert!(!verify_consistency(m, n, &old_root, &bad_new, &proof));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = which.index(bad.len());
                flip(&mut bad[at], byte);
                prop_assert!(!verify_consistency(m, n, &old_root, &new_root, &bad));
            }
        }
    }
}
