//! The layering of `src/` (DESIGN §2), checked on every run by reading the source: a lower
//! layer never imports a higher one, no import circle spans folders, only `src/tui` knows
//! ratatui and crossterm, and only `src/store` speaks SQL. Each failure names the file, the
//! line and the rule it breaks.
//!
//! The reading is deliberately small: `crate::…` and `super::…` paths in code (comments
//! and string literals stripped), `use` groups expanded. `pub use` re-exports and `mod`
//! declarations are how a folder publishes its parts, not a dependency, so they are not
//! edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import from its own layer or any below it, as
/// long as no circle forms (checked separately).
const LAYERS: &[&[&str]] = &[
    &["value", "plural", "config"],
    &["crypto"],
    &["store"],
    &["access", "audit"],
    &["rotation", "health", "demo"],
    &["service", "metrics", "report"],
    &["cli", "tui"],
];

/// Crates only one top-level module may use.
const CONFINED_CRATES: &[(&str, &str)] = &[
    ("ratatui", "tui"),
    ("ratatui_textarea", "tui"),
    ("crossterm", "tui"),
    ("sqlx", "store"),
    ("rusqlite", "store"),
    // Audit signing keys are handled in `crypto` only (issue 15).
    ("ed25519_dalek", "crypto"),
    // The report's charts (issue 19).
    ("plotters", "report"),
];

/// SQL statement openings: a string literal holding one outside `src/store` is SQL
/// written elsewhere.
const SQL_OPENINGS: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "ALTER TABLE",
    "DROP TABLE",
    "PRAGMA ",
];

struct SourceFile {
    /// Relative to `src/`, e.g. `store/rotation_sql/jobs.rs`.
    rel: PathBuf,
    /// The module path of the file, e.g. `["store", "rotation_sql", "jobs"]`.
    module: Vec<String>,
    /// Code with comments blanked (string literals kept, for the SQL rule).
    code: Vec<String>,
    /// Code with comments and string literals blanked.
    bare: Vec<String>,
    /// The 0-based line of `#[cfg(test)]` opening the file's unit tests, if any.
    tests_from: Option<usize>,
}

impl SourceFile {
    fn top(&self) -> &str {
        self.module.first().map_or("", |s| s.as_str())
    }

    /// The folder the file lives in, as a module path (`store/rotation_sql/mod.rs` and
    /// `store/rotation_sql/jobs.rs` both live in `store::rotation_sql`).
    fn folder(&self) -> String {
        let parent = self.rel.parent().unwrap_or(Path::new(""));
        module_of_dir(parent)
    }
}

fn module_of_dir(dir: &Path) -> String {
    dir.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("::")
}

/// Every file under `src/`, read once for all the checks.
fn source_files() -> &'static [SourceFile] {
    static FILES: std::sync::OnceLock<Vec<SourceFile>> = std::sync::OnceLock::new();
    FILES.get_or_init(read_sources)
}

fn read_sources() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    collect(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap().to_path_buf();
            let text = std::fs::read_to_string(&path).unwrap();
            let (code, bare) = strip(&text);
            let tests_from = unit_tests_start(&bare);
            SourceFile {
                module: module_path(&rel),
                rel,
                code,
                bare,
                tests_from,
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// Blanks comments (keeping line structure); the second result also blanks the contents
/// of string and char literals. Raw strings (`r"…"`, `r#"…"#`) are handled.
fn strip(text: &str) -> (Vec<String>, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut bare = String::with_capacity(text.len());
    let mut i = 0;
    let push = |code: &mut String, bare: &mut String, c: char, in_string: bool| {
        code.push(c);
        bare.push(if in_string && c != '\n' { ' ' } else { c });
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        code.push('\n');
                        bare.push('\n');
                    }
                    i += 1;
                }
            }
            continue;
        }
        let ident_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == 'r' && !ident_before && matches!(next, Some('"') | Some('#')) {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                for &ch in &chars[i..=j] {
                    push(&mut code, &mut bare, ch, false);
                }
                j += 1;
                while let Some(&ch) = chars.get(j) {
                    if ch == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                        for &ch in &chars[j..j + 1 + hashes] {
                            push(&mut code, &mut bare, ch, false);
                        }
                        j += 1 + hashes;
                        break;
                    }
                    push(&mut code, &mut bare, ch, true);
                    j += 1;
                }
                i = j;
                continue;
            }
        }
        if c == '"' {
            push(&mut code, &mut bare, c, false);
            i += 1;
            while i < chars.len() {
                let ch = chars[i];
                if ch == '\\' {
                    push(&mut code, &mut bare, ch, true);
                    if let Some(&esc) = chars.get(i + 1) {
                        push(&mut code, &mut bare, esc, true);
                    }
                    i += 2;
                    continue;
                }
                if ch == '"' {
                    push(&mut code, &mut bare, ch, false);
                    i += 1;
                    break;
                }
                push(&mut code, &mut bare, ch, true);
                i += 1;
            }
            continue;
        }
        // A char literal ('x', '\n', '\''), not a lifetime ('a).
        if c == '\'' {
            let close = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&ch| ch == '\'')
                    .map(|p| i + 2 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = close {
                push(&mut code, &mut bare, c, false);
                for &ch in &chars[i + 1..end] {
                    push(&mut code, &mut bare, ch, true);
                }
                push(&mut code, &mut bare, '\'', false);
                i = end + 1;
                continue;
            }
        }
        push(&mut code, &mut bare, c, false);
        i += 1;
    }
    (
        code.lines().map(str::to_string).collect(),
        bare.lines().map(str::to_string).collect(),
    )
}

/// One reference from a file to a module path of the crate (absolute, without `crate`).
struct Reference {
    line: usize,
    target: Vec<String>,
    text: String,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every `crate::…` and `super::…` path in the file's code, `use` groups expanded, as
/// absolute module paths. `pub use` and `pub(crate) use` lines (re-exports) are skipped.
fn references(file: &SourceFile) -> Vec<Reference> {
    let mut out = Vec::new();
    // Statements may span lines (`use crate::{\n a,\n b\n};`): join each `use` statement.
    let mut lines = file.bare.iter().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim_start();
        let is_reexport = trimmed.starts_with("pub use")
            || trimmed.starts_with("pub(crate) use")
            || trimmed.starts_with("pub(super) use");
        let mut statement = line.clone();
        if trimmed.starts_with("use ") || is_reexport {
            while !statement.contains(';') {
                match lines.next() {
                    Some((_, more)) => statement.push_str(more),
                    None => break,
                }
            }
        }
        if is_reexport {
            continue;
        }
        for path in paths_in(&statement) {
            if let Some(target) = resolve(&file.module, &path) {
                out.push(Reference {
                    line: n + 1,
                    target,
                    text: file.code[n].trim().to_string(),
                });
            }
        }
    }
    out
}

/// The paths starting with `crate::` or `super::` in a statement, with `{a, b::c}` groups
/// expanded (one level of nesting is enough for this code base; deeper groups are expanded
/// recursively).
fn paths_in(statement: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = statement.chars().collect();
    let starts_with = |i: usize, word: &str| {
        word.chars()
            .enumerate()
            .all(|(k, w)| chars.get(i + k) == Some(&w))
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_boundary = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':';
        if !(at_boundary && (starts_with(i, "crate::") || starts_with(i, "super::"))) {
            i += 1;
            continue;
        }
        let (paths, end) = parse_path(&chars, i);
        out.extend(paths);
        i = end.max(i + 1);
    }
    out
}

/// Parses `a::b::{c, d::e}` from `start`; returns the expanded paths and where it ended.
fn parse_path(chars: &[char], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    let mut i = start;
    loop {
        let begin = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        if i > begin {
            prefix.push(chars[begin..i].iter().collect::<String>());
        }
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
            while chars.get(i) == Some(&' ') {
                i += 1;
            }
            if chars.get(i) == Some(&'{') {
                let mut out = Vec::new();
                i += 1;
                loop {
                    while matches!(chars.get(i), Some(' ') | Some(',')) {
                        i += 1;
                    }
                    match chars.get(i) {
                        None => return (out, i),
                        Some('}') => return (out, i + 1),
                        _ => {}
                    }
                    let (inner, end) = parse_path(chars, i);
                    for mut p in inner {
                        let mut full = prefix.clone();
                        full.append(&mut p);
                        out.push(full);
                    }
                    if inner_is_empty(end, i) {
                        i += 1;
                    } else {
                        i = end;
                    }
                }
            }
            continue;
        }
        return (vec![prefix], i);
    }
}

fn inner_is_empty(end: usize, start: usize) -> bool {
    end <= start
}

/// Makes a path absolute (without the leading `crate`); `None` for `self`-only or paths
/// that leave the crate.
fn resolve(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut parts = path.iter();
    let first = parts.next()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "super" => {
            // `super` of a file module is its folder's module; of a `mod.rs`, the parent.
            // `module` already names a `mod.rs` by its folder, so one step up is right for
            // both kinds of file.
            let mut m = module.to_vec();
            m.pop()?;
            m
        }
        _ => return None,
    };
    for part in parts {
        match part.as_str() {
            "super" => {
                base.pop()?;
            }
            "self" => {}
            _ => base.push(part.clone()),
        }
    }
    Some(base)
}

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&top))
}

/// Where a file's unit tests start (`#[cfg(test)]` then `mod …`; they run to the end of
/// the file, as this code base writes them).
fn unit_tests_start(bare: &[String]) -> Option<usize> {
    bare.windows(2).position(|pair| {
        pair[0].trim() == "#[cfg(test)]" && pair[1].trim_start().starts_with("mod ")
    })
}

/// Whether 1-based `line` is inside the file's unit tests: tests may reach anywhere.
fn is_test_module_line(file: &SourceFile, line: usize) -> bool {
    file.tests_from.is_some_and(|s| line > s)
}

#[test]
fn every_top_level_module_has_a_layer() {
    let files = source_files();
    let unplaced: BTreeSet<&str> = files
        .iter()
        .map(SourceFile::top)
        .filter(|t| !t.is_empty() && layer_of(t).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules with no layer in tests/architecture LAYERS (place them in DESIGN §2 and here): {unplaced:?}"
    );
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let mut offences = Vec::new();
    for file in source_files().iter() {
        let Some(own) = layer_of(file.top()) else {
            continue;
        };
        for r in references(file) {
            if is_test_module_line(file, r.line) {
                continue;
            }
            let Some(top) = r.target.first() else {
                continue;
            };
            if let Some(theirs) = layer_of(top)
                && theirs > own
            {
                offences.push(format!(
                    "src/{}:{}: `{}` (layer {own}) imports `{top}` (layer {theirs}): {}",
                    file.rel.display(),
                    r.line,
                    file.top(),
                    r.text
                ));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "a lower layer imports a higher one:\n{}",
        offences.join("\n")
    );
}

#[test]
fn no_import_circle_spans_top_level_modules() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut witness: BTreeMap<(String, String), String> = BTreeMap::new();
    for file in source_files().iter() {
        let from = file.top().to_string();
        if from.is_empty() {
            continue;
        }
        for r in references(file) {
            if is_test_module_line(file, r.line) {
                continue;
            }
            let Some(to) = r.target.first().cloned() else {
                continue;
            };
            if to != from && layer_of(&to).is_some() {
                witness
                    .entry((from.clone(), to.clone()))
                    .or_insert_with(|| {
                        format!("src/{}:{}: {}", file.rel.display(), r.line, r.text)
                    });
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    let circles = circles(&edges);
    let described: Vec<String> = circles
        .iter()
        .map(|c| describe(c, &edges, &witness))
        .collect();
    assert!(
        described.is_empty(),
        "import circles between top-level modules:\n{}",
        described.join("\n")
    );
}

#[test]
fn no_import_circle_spans_folders() {
    // Nodes are folders (`tui`, `tui::screens`, `store::rotation_sql`); an edge is a file
    // in one folder using a path in another.
    let files = source_files();
    let folders: BTreeSet<String> = files.iter().map(SourceFile::folder).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut witness: BTreeMap<(String, String), String> = BTreeMap::new();
    for file in files {
        let from = file.folder();
        for r in references(file) {
            if is_test_module_line(file, r.line) {
                continue;
            }
            // The deepest folder the path names.
            let mut to = String::new();
            for depth in (1..=r.target.len()).rev() {
                let candidate = r.target[..depth].join("::");
                if folders.contains(&candidate) {
                    to = candidate;
                    break;
                }
            }
            if to.is_empty() || to == from {
                continue;
            }
            witness
                .entry((from.clone(), to.clone()))
                .or_insert_with(|| format!("src/{}:{}: {}", file.rel.display(), r.line, r.text));
            edges.entry(from.clone()).or_default().insert(to);
        }
    }
    let described: Vec<String> = circles(&edges)
        .iter()
        .map(|c| describe(c, &edges, &witness))
        .collect();
    assert!(
        described.is_empty(),
        "import circles between folders (a folder's files use a folder that uses them back):\n{}",
        described.join("\n")
    );
}

#[test]
fn only_the_permitted_module_uses_each_confined_crate() {
    let mut offences = Vec::new();
    for file in source_files().iter() {
        for (n, line) in file.bare.iter().enumerate() {
            for (krate, owner) in CONFINED_CRATES {
                if file.top() == *owner {
                    continue;
                }
                let needle = format!("{krate}::");
                let mentions = line.match_indices(&needle).any(|(at, _)| {
                    let before = line[..at].chars().next_back();
                    !before.is_some_and(|c| is_ident(c) || c == ':')
                });
                if mentions {
                    offences.push(format!(
                        "src/{}:{}: `{krate}` outside src/{owner}: {}",
                        file.rel.display(),
                        n + 1,
                        file.code[n].trim()
                    ));
                }
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

#[test]
fn only_the_store_writes_sql() {
    let mut offences = Vec::new();
    for file in source_files().iter() {
        if file.top() == "store" {
            continue;
        }
        for (n, line) in file.code.iter().enumerate() {
            if is_test_module_line(file, n + 1) {
                continue;
            }
            for literal in string_literals(line) {
                if let Some(opening) = SQL_OPENINGS.iter().find(|o| literal.starts_with(*o)) {
                    offences.push(format!(
                        "src/{}:{}: SQL (`{}`) outside src/store: {}",
                        file.rel.display(),
                        n + 1,
                        opening.trim(),
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// The contents of the string literals on a line of comment-free code.
fn string_literals(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut escaped = false;
    for c in line.chars() {
        match &mut current {
            Some(s) => {
                if escaped {
                    s.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    out.push(std::mem::take(s));
                    current = None;
                } else {
                    s.push(c);
                }
            }
            None if c == '"' => current = Some(String::new()),
            None => {}
        }
    }
    out
}

/// The strongly connected components with more than one node (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: &str) {
            self.index.insert(v.to_string(), self.next);
            self.low.insert(v.to_string(), self.next);
            self.next += 1;
            self.stack.push(v.to_string());
            self.on_stack.insert(v.to_string());
            let targets: Vec<String> = self
                .edges
                .get(v)
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default();
            for w in targets {
                if !self.index.contains_key(&w) {
                    self.visit(&w);
                    let low = self.low[v].min(self.low[&w]);
                    self.low.insert(v.to_string(), low);
                } else if self.on_stack.contains(&w) {
                    let low = self.low[v].min(self.index[&w]);
                    self.low.insert(v.to_string(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(&w);
                    let done = w == v;
                    component.push(w);
                    if done {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<String> = edges.keys().cloned().collect();
    for v in nodes {
        if !t.index.contains_key(&v) {
            t.visit(&v);
        }
    }
    t.out
}

/// A circle with one witnessing line per edge inside it.
fn describe(
    component: &[String],
    edges: &BTreeMap<String, BTreeSet<String>>,
    witness: &BTreeMap<(String, String), String>,
) -> String {
    let mut lines = vec![format!("circle: {}", component.join(" <-> "))];
    for from in component {
        for to in edges.get(from).into_iter().flatten() {
            if component.contains(to) {
                let at = witness
                    .get(&(from.clone(), to.clone()))
                    .cloned()
                    .unwrap_or_default();
                lines.push(format!("  {from} -> {to}: {at}"));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn the_reader_finds_paths_in_groups_and_skips_comments_and_strings() {
    let (code, bare) = strip(
        "use crate::{config::{ModelDef, ModelSet}, store::Store}; // crate::tui\nlet s = \"crate::cli\";\n",
    );
    assert_eq!(code.len(), 2);
    let file = SourceFile {
        rel: PathBuf::from("rotation/run.rs"),
        module: vec!["rotation".into(), "run".into()],
        code,
        bare,
        tests_from: None,
    };
    let targets: Vec<String> = references(&file)
        .iter()
        .map(|r| r.target.join("::"))
        .collect();
    assert_eq!(
        targets,
        ["config::ModelDef", "config::ModelSet", "store::Store"]
    );
    let up = resolve(
        &["store".into(), "rotation_sql".into(), "jobs".into()],
        &["super".into(), "super".into(), "Store".into()],
    );
    assert_eq!(up, Some(vec!["store".to_string(), "Store".to_string()]));
}
