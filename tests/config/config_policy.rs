//! Access policy YAML (DESIGN §6): the documented example loads into the expected roles and
//! levels, and each invalid fixture in tests/fixtures/invalid_policies/ is refused with a
//! message naming file:line:column and what was expected.

use std::path::Path;

use timber::config::{Level, PolicyError, load_policy, parse_policy};

const BAD_DIR: &str = "tests/fixtures/invalid_policies";

fn refusal(file: &str) -> String {
    match load_policy(&Path::new(BAD_DIR).join(file)) {
        Ok(_) => panic!("{file} loaded but should be refused"),
        Err(err) => err.to_string(),
    }
}

const DESIGN_EXAMPLE: &str = r#"default_role: viewer
roles:
  security_admin: { default: reveal, require_reason: true }
  support:
    default: partial
    fields: { "UserProfile.research_notes": redact, "*.api_keys": hidden, "Vault.*": hash }
  viewer: { default: redact }
  intern: {}
owner_sees_own: true            # a row whose owner column equals TIMBER_USER is shown revealed
reveal_timeout_seconds: 45      # a revealed cell masks itself again
"#;

#[test]
fn the_design_example_loads_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, DESIGN_EXAMPLE).unwrap();
    let policy = load_policy(&path).unwrap();
    assert_eq!(policy.default_role, "viewer");
    assert_eq!(policy.source.as_deref(), Some(path.as_path()));
    assert!(policy.owner_sees_own);
    assert_eq!(policy.reveal_timeout_seconds, 45);
    let names: Vec<&str> = policy.roles.keys().map(String::as_str).collect();
    assert_eq!(names, ["intern", "security_admin", "support", "viewer"]);

    let admin = &policy.roles["security_admin"];
    assert_eq!((admin.default, admin.require_reason), (Level::Reveal, true));
    let support = &policy.roles["support"];
    assert_eq!(
        (support.default, support.require_reason),
        (Level::Partial, false)
    );
    assert_eq!(
        support.fields,
        [
            ("UserProfile.research_notes".to_string(), Level::Redact),
            ("*.api_keys".to_string(), Level::Hidden),
            ("Vault.*".to_string(), Level::Hash),
        ],
        "patterns keep file order"
    );
    // A role that says nothing gets `redact`: it sees that values exist, never what they are.
    let intern = &policy.roles["intern"];
    assert_eq!(
        (intern.default, intern.require_reason, intern.fields.len()),
        (Level::Redact, false, 0)
    );
}

#[test]
fn omitted_options_take_their_documented_defaults() {
    let policy = parse_policy(
        "default_role: a\nroles:\n  a: {default: hash}\n",
        Path::new("p.yaml"),
    )
    .unwrap();
    assert!(!policy.owner_sees_own);
    assert_eq!(policy.reveal_timeout_seconds, 30);
    assert_eq!(policy.roles["a"].default, Level::Hash);
}

#[test]
fn a_missing_policy_file_is_named() {
    let err = load_policy(Path::new("tests/fixtures/no_such_policy.yaml")).unwrap_err();
    assert!(matches!(err, PolicyError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot read policy file tests/fixtures/no_such_policy.yaml: "),
        "{err}"
    );
}

#[test]
fn unknown_level() {
    assert_eq!(
        refusal("unknown_level.yaml"),
        "tests/fixtures/invalid_policies/unknown_level.yaml:5:45: unknown level \"masked\" for \
         UserProfile.research_notes in role support; expected one of hidden, redact, hash, partial, reveal"
    );
}

#[test]
fn default_role_unknown() {
    assert_eq!(
        refusal("default_role_unknown.yaml"),
        "tests/fixtures/invalid_policies/default_role_unknown.yaml:1:15: default_role \"auditor\" is \
         not one of the roles: security_admin, viewer"
    );
}

#[test]
fn bad_field_pattern() {
    assert_eq!(
        refusal("bad_field_pattern.yaml"),
        "tests/fixtures/invalid_policies/bad_field_pattern.yaml:7:7: bad field pattern \
         \"UserProfile.research notes\" in role support: expected Model.field, *.field or Model.*"
    );
}

#[test]
fn everything_pattern() {
    assert_eq!(
        refusal("everything_pattern.yaml"),
        "tests/fixtures/invalid_policies/everything_pattern.yaml:4:15: bad field pattern \"*.*\" in \
         role viewer: *.* matches everything; set the role's default instead"
    );
}

#[test]
fn negative_timeout() {
    assert_eq!(
        refusal("negative_timeout.yaml"),
        "tests/fixtures/invalid_policies/negative_timeout.yaml:4:25: expected a non-negative whole \
         number for reveal_timeout_seconds, found the number -5"
    );
}

#[test]
fn unknown_key() {
    assert_eq!(
        refusal("unknown_key.yaml"),
        "tests/fixtures/invalid_policies/unknown_key.yaml:5:5: unknown key \"require_reson\" in role \
         security_admin; allowed keys: default, require_reason, fields, actions"
    );
}

#[test]
fn missing_roles() {
    assert_eq!(
        refusal("missing_roles.yaml"),
        "tests/fixtures/invalid_policies/missing_roles.yaml:1:1: the policy is missing the required \
         key \"roles\""
    );
}

#[test]
fn malformed() {
    assert_eq!(
        refusal("malformed.yaml"),
        "tests/fixtures/invalid_policies/malformed.yaml:4:15: invalid YAML: while parsing a flow \
         mapping, did not find expected ',' or '}'"
    );
}

#[test]
fn duplicate_role() {
    assert_eq!(
        refusal("duplicate_role.yaml"),
        "tests/fixtures/invalid_policies/duplicate_role.yaml:5:3: invalid YAML: duplicate mapping \
         key: viewer (a key may appear once)"
    );
}

#[test]
fn unknown_action() {
    assert_eq!(
        refusal("unknown_action.yaml"),
        "tests/fixtures/invalid_policies/unknown_action.yaml:5:31: unknown action \"cancel job\" in \
         role admin; expected one of reveal, export, rotate, retire, cancel_job, takeover_job, init, \
         checkpoint"
    );
}

/// `actions:` lists what a role may do beyond reading masked data; a role (or a policy)
/// that lists none is granted none, and an action given twice is one grant.
#[test]
fn actions_are_granted_per_role_and_default_to_none() {
    use timber::config::PolicyAction;
    let policy = parse_policy(
        "default_role: viewer\nroles:\n  admin:\n    actions: [rotate, retire, rotate, checkpoint]\n  \
         support: { actions: [] }\n  viewer: {}\n",
        Path::new("p.yaml"),
    )
    .unwrap();
    let admin: Vec<PolicyAction> = policy.roles["admin"].actions.iter().copied().collect();
    assert_eq!(
        admin,
        [
            PolicyAction::Rotate,
            PolicyAction::Retire,
            PolicyAction::Checkpoint
        ]
    );
    assert!(policy.roles["support"].actions.is_empty());
    assert!(policy.roles["viewer"].actions.is_empty());
    let builtin = timber::config::Policy::builtin();
    assert!(builtin.roles.values().all(|r| r.actions.is_empty()));
    let err = parse_policy(
        "default_role: a\nroles:\n  a: { actions: rotate }\n",
        Path::new("p.yaml"),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "p.yaml:3:17: expected a list for actions of role a, found the text \"rotate\""
    );
}
