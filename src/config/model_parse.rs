//! First half of model loading: reads one file's parsed YAML into draft models, checking the
//! shape of every key (known keys only, right kinds of values, valid names and types) and
//! keeping the path of each node that a later cross-field check may need to point at.
//! `model_validate` does the cross-field checks on the drafts.

use super::yaml_value::Value;

use super::model::{
    Classification, ColumnDef, ColumnType, EncryptionSettings, GdprSettings, IndexDef, Mixin,
    ModelDef,
};
use super::yaml_locate::{PathError, YamlPath};
use super::yaml_node::{Node, Owned, Read, is_identifier};

const FILE_KEYS: &[&str] = &["models"];
const MODEL_KEYS: &[&str] = &[
    "name",
    "table_name",
    "columns",
    "mixins",
    "indexes",
    "encryption",
    "classification",
    "owner_column",
    "gdpr",
    "description",
];
const COLUMN_KEYS: &[&str] = &[
    "name",
    "type",
    "primary_key",
    "nullable",
    "encrypted",
    "indexed",
    "unique",
    "default",
    "foreign_key",
    "blind_index",
    "description",
];
const ENCRYPTION_KEYS: &[&str] = &["enabled", "fields", "key_identifier", "per_user"];
const GDPR_KEYS: &[&str] = &["user_field", "export_fields"];
const INDEX_KEYS: &[&str] = &["columns", "unique"];

/// Where a declared column's nodes are, parallel to the declared columns of the draft.
pub(crate) struct ColumnAt {
    pub name: YamlPath,
    pub primary_key: Option<YamlPath>,
    pub nullable: Option<YamlPath>,
    pub encrypted: Option<YamlPath>,
    pub blind_index: Option<YamlPath>,
}

/// The `encryption:` block as written, before its fields are applied to columns.
pub(crate) struct EncryptionDraft {
    pub enabled: bool,
    pub enabled_at: Option<YamlPath>,
    pub fields: Vec<(String, YamlPath)>,
}

/// A model read from YAML whose cross-field rules are not checked yet.
pub(crate) struct Draft {
    pub def: ModelDef,
    pub name_at: YamlPath,
    pub columns_at: Vec<ColumnAt>,
    pub encryption: Option<EncryptionDraft>,
    pub indexes_at: Vec<Vec<YamlPath>>,
    pub owner_column_at: Option<YamlPath>,
    pub gdpr_user_field_at: Option<YamlPath>,
    pub gdpr_export_at: Vec<YamlPath>,
}

/// Reads the `models:` list of one file.
pub(crate) fn read_models(root: &Value, file: &std::path::Path) -> Read<Vec<Draft>> {
    let root = Owned::root(root);
    let node = root.node();
    node.expect_keys(FILE_KEYS, "a model file")?;
    let models = node.require("models", "a model file")?;
    let mut drafts = Vec::new();
    for (i, item) in models.node().list("models")?.iter().enumerate() {
        drafts.push(read_model(item.node(), i, file)?);
    }
    Ok(drafts)
}

fn read_model(node: Node<'_, '_>, index: usize, file: &std::path::Path) -> Read<Draft> {
    // Name the model in key errors when its name is readable, else its position in the list.
    let label = match node.get("name").map(|n| n.value.as_str().map(str::trim)) {
        Some(Some(name)) if is_identifier(name) => format!("model {name}"),
        _ => format!("model #{}", index + 1),
    };
    node.expect_keys(MODEL_KEYS, &label)?;
    let name_node = node.require("name", &label)?;
    let name = identifier(name_node.node(), "model name")?;
    let what = format!("model {name}");
    let table = node.require("table_name", &what)?;
    let table_name = identifier(table.node(), &format!("table_name of model {name}"))?;

    let mut columns = Vec::new();
    let mut columns_at = Vec::new();
    let declared = node.require("columns", &what)?;
    let items = declared.node().list(&format!("columns of model {name}"))?;
    if items.is_empty() {
        return Err(declared
            .node()
            .error(format!("model {name} declares no columns")));
    }
    for item in &items {
        let (column, at) = read_column(item.node(), &name)?;
        columns.push(column);
        columns_at.push(at);
    }

    let mixins = read_mixins(node, &name)?;
    let (indexes, indexes_at) = read_indexes(node, &name)?;
    let classification = match node.get("classification") {
        None => None,
        Some(c) => {
            let text = c.node().text(&format!("classification of model {name}"))?;
            Some(Classification::parse(text).ok_or_else(|| {
                c.node().error(format!(
                    "unknown classification {text:?} for model {name}; expected one of critical, sensitive, standard"
                ))
            })?)
        }
    };
    let (owner_column, owner_column_at) = match node.get("owner_column") {
        None => ("user_id".to_string(), None),
        Some(o) => (
            identifier(o.node(), &format!("owner_column of model {name}"))?,
            Some(o.path),
        ),
    };
    let (encryption_settings, encryption) = match node.get("encryption") {
        None => (EncryptionSettings::default(), None),
        Some(e) => read_encryption(e.node(), &name)?,
    };
    let (gdpr, gdpr_user_field_at, gdpr_export_at) = match node.get("gdpr") {
        None => (None, None, Vec::new()),
        Some(g) => read_gdpr(g.node(), &name)?,
    };

    let def = ModelDef {
        name,
        table_name,
        columns,
        mixins,
        indexes,
        encryption: encryption_settings,
        classification,
        owner_column,
        gdpr,
        source: file.to_path_buf(),
    };
    Ok(Draft {
        def,
        name_at: name_node.path,
        columns_at,
        encryption,
        indexes_at,
        owner_column_at,
        gdpr_user_field_at,
        gdpr_export_at,
    })
}

fn read_mixins(model: Node<'_, '_>, name: &str) -> Read<Vec<Mixin>> {
    let mut mixins = Vec::new();
    let Some(list) = model.get("mixins") else {
        return Ok(mixins);
    };
    for (text, at) in list.node().text_list(&format!("mixins of model {name}"))? {
        let Some(mixin) = Mixin::parse(&text) else {
            let known: Vec<&str> = Mixin::ALL.iter().map(|m| m.yaml_name()).collect();
            let message = format!(
                "unknown mixin {text:?} in model {name}; expected one of {}",
                known.join(", ")
            );
            return Err(PathError::new(&at, message));
        };
        if mixins.contains(&mixin) {
            return Err(PathError::new(
                &at,
                format!("mixin {text} is listed twice in model {name}"),
            ));
        }
        mixins.push(mixin);
    }
    Ok(mixins)
}

/// The indexes, and where each of their column names is (checked once mixins added columns).
fn read_indexes(model: Node<'_, '_>, name: &str) -> Read<(Vec<IndexDef>, Vec<Vec<YamlPath>>)> {
    let mut indexes = Vec::new();
    let mut indexes_at = Vec::new();
    let Some(list) = model.get("indexes") else {
        return Ok((indexes, indexes_at));
    };
    for item in list.node().list(&format!("indexes of model {name}"))? {
        let what = format!("an index of model {name}");
        item.node().expect_keys(INDEX_KEYS, &what)?;
        let cols = item.node().require("columns", &what)?;
        let cols = cols.node().text_list(&format!("columns of {what}"))?;
        if cols.is_empty() {
            return Err(item.node().error(format!("{what} lists no columns")));
        }
        let unique = optional_bool(item.node(), "unique", &what)?.unwrap_or(false);
        indexes.push(IndexDef {
            columns: cols.iter().map(|(c, _)| c.clone()).collect(),
            unique,
        });
        indexes_at.push(cols.into_iter().map(|(_, at)| at).collect());
    }
    Ok((indexes, indexes_at))
}

type GdprRead = (Option<GdprSettings>, Option<YamlPath>, Vec<YamlPath>);

/// `gdpr: {user_field, export_fields}`, with where each named field is.
fn read_gdpr(node: Node<'_, '_>, name: &str) -> Read<GdprRead> {
    node.expect_keys(GDPR_KEYS, &format!("gdpr settings of model {name}"))?;
    let (user_field, user_field_at) = match node.get("user_field") {
        None => (None, None),
        Some(u) => {
            let field = u
                .node()
                .text(&format!("gdpr.user_field of model {name}"))?
                .trim();
            (Some(field.to_string()), Some(u.path.clone()))
        }
    };
    let exports = match node.get("export_fields") {
        None => Vec::new(),
        Some(list) => list
            .node()
            .text_list(&format!("gdpr.export_fields of model {name}"))?,
    };
    let (export_fields, export_at) = exports.into_iter().unzip();
    Ok((
        Some(GdprSettings {
            user_field,
            export_fields,
        }),
        user_field_at,
        export_at,
    ))
}

fn read_column(node: Node<'_, '_>, model: &str) -> Read<(ColumnDef, ColumnAt)> {
    let what = match node.get("name").map(|n| n.value.as_str().map(str::trim)) {
        Some(Some(name)) if is_identifier(name) => format!("column {model}.{name}"),
        _ => format!("a column of model {model}"),
    };
    node.expect_keys(COLUMN_KEYS, &what)?;
    let name_node = node.require("name", &what)?;
    let name = identifier(name_node.node(), &format!("column name in model {model}"))?;
    let what = format!("column {model}.{name}");
    let type_node = node.require("type", &what)?;
    let type_text = type_node.node().text(&format!("type of {what}"))?;
    let ty = ColumnType::parse(type_text).map_err(|reason| {
        let adjective = if matches!(reason, super::model::TypeError::Unknown) {
            "unknown"
        } else {
            "bad"
        };
        type_node.node().error(format!(
            "{adjective} column type {type_text:?} for {model}.{name}; {reason}"
        ))
    })?;
    let primary_key = optional_bool(node, "primary_key", &what)?.unwrap_or(false);
    let nullable = optional_bool(node, "nullable", &what)?.unwrap_or(!primary_key);
    let encrypted = optional_bool(node, "encrypted", &what)?.unwrap_or(false);
    let indexed = optional_bool(node, "indexed", &what)?.unwrap_or(false);
    let unique = optional_bool(node, "unique", &what)?.unwrap_or(false);
    let default = match node.get("default") {
        None => None,
        Some(d) => d.node().scalar_text(&format!("default of {what}"))?,
    };
    let foreign_key = match node.get("foreign_key") {
        None => None,
        Some(f) => {
            let text = f.node().text(&format!("foreign_key of {what}"))?.trim();
            let parts: Vec<&str> = text.split('.').collect();
            if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| is_identifier(p)) {
                return Err(f.node().error(format!(
                    "foreign_key {text:?} of {what} is not a reference; expected table.column"
                )));
            }
            Some(text.to_string())
        }
    };
    let blind_index = match node.get("blind_index") {
        None => None,
        Some(b) => Some(identifier(b.node(), &format!("blind_index of {what}"))?),
    };
    let at = ColumnAt {
        name: name_node.path,
        primary_key: node.get("primary_key").map(|n| n.path),
        nullable: node.get("nullable").map(|n| n.path),
        encrypted: node.get("encrypted").map(|n| n.path),
        blind_index: node.get("blind_index").map(|n| n.path),
    };
    let column = ColumnDef {
        name,
        ty,
        primary_key,
        nullable,
        encrypted,
        indexed,
        unique,
        default,
        foreign_key,
        blind_index,
        from_mixin: false,
    };
    Ok((column, at))
}

fn read_encryption(
    node: Node<'_, '_>,
    model: &str,
) -> Read<(EncryptionSettings, Option<EncryptionDraft>)> {
    let what = format!("encryption settings of model {model}");
    node.expect_keys(ENCRYPTION_KEYS, &what)?;
    // A block that is present is on unless it says `enabled: false`.
    let enabled = optional_bool(node, "enabled", &what)?.unwrap_or(true);
    let per_user = optional_bool(node, "per_user", &what)?.unwrap_or(false);
    let fields = match node.get("fields") {
        None => Vec::new(),
        Some(list) => list
            .node()
            .text_list(&format!("encryption.fields of model {model}"))?,
    };
    let key_identifier = match node.get("key_identifier") {
        None => None,
        Some(k) => {
            let text = k
                .node()
                .text(&format!("encryption.key_identifier of model {model}"))?
                .trim();
            if !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(k.node().error(format!(
                    "encryption.key_identifier {text:?} of model {model} may use only letters, digits \
                     and _ (it names the key in TIMBER_KEY_<NAME>)"
                )));
            }
            Some(text.to_ascii_lowercase())
        }
    };
    let draft = EncryptionDraft {
        enabled,
        enabled_at: node.get("enabled").map(|n| n.path),
        fields,
    };
    if per_user && key_identifier.is_some() {
        let at = node
            .get("per_user")
            .map(|n| n.path)
            .unwrap_or_else(|| node.path.clone());
        return Err(PathError::new(
            &at,
            format!(
                "model {model} sets both encryption.per_user and encryption.key_identifier; choose one"
            ),
        ));
    }
    Ok((
        EncryptionSettings {
            key_identifier,
            per_user,
        },
        Some(draft),
    ))
}

fn optional_bool(node: Node<'_, '_>, key: &str, what: &str) -> Read<Option<bool>> {
    match node.get(key) {
        None => Ok(None),
        Some(v) => v.node().boolean(&format!("{key} of {what}")).map(Some),
    }
}

/// A name that will be quoted into SQL or matched in policies: `^[A-Za-z_][A-Za-z0-9_]{0,62}$`.
fn identifier(node: Node<'_, '_>, what: &str) -> Read<String> {
    let text = node.text(what)?.trim();
    if is_identifier(text) {
        Ok(text.to_string())
    } else {
        Err(node.error(format!(
            "invalid {what}: {text:?}; expected a letter or _, then letters, digits or _ (63 at most)"
        )))
    }
}
