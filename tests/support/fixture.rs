//! The Python Timber fixture's test keys (tests/fixtures/python-timber/fixture.env; nothing
//! else uses them) and test models from YAML text.

use std::path::Path;

use timber::config::{ModelDef, parse_models};

pub const ENCRYPTION_KEY: &str = "YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw=";
pub const MASTER_KEY: &str = "fOND_spZ8wI-KrYha05MCmNPnCFRDjgkOwnancajTEQ=";

pub fn models(yaml: &str) -> Vec<ModelDef> {
    parse_models(yaml, Path::new("test.yaml")).expect("test models are valid")
}
